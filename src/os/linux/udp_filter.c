/* udp_filter.c - the classic BPF program that keeps datagrams which cannot
 * be ours out of the daemon. A flood of garbage at the listening port then
 * costs the kernel's receive path only: no queueing, no copy to user
 * space, no wake-up, no receive-buffer space taken from real traffic.
 *
 * Classic BPF, not eBPF: it needs no privilege beyond owning the socket,
 * no loader and no kernel newer than the ones WireGuard runs on. A socket
 * filter on a UDP socket sees the datagram from its UDP header, so the
 * payload starts at offset 8; with UDP GRO it sees the first datagram of a
 * coalesced train (all from one source, so one verdict fits them all).
 * Loads past the end make the kernel drop the packet, which is the right
 * answer for anything too short to hold the header we test. */
#include "os/linux/udp_filter.h"

#include <errno.h>
#include <linux/filter.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/messages.h"
#include "core/relay.h"

enum {
	UDP_HEADER = 8,
	/* RFC 5389 §6: bytes 4..7 of every STUN message. */
	STUN_MAGIC_COOKIE = 0x2112A442,
};

/* The first four payload bytes as BPF loads them (big-endian). */
#define FIRST_WORD(b0, b1, b2, b3)                                        \
	((uint32_t)(b0) << 24 | (uint32_t)(b1) << 16 | (uint32_t)(b2) << 8 | \
	 (uint32_t)(b3))

/* Instructions by name, so that every jump says where it goes. */
enum filter_step {
	LOAD_WORD,	/* A = payload bytes 0..3 */
	ABOVE_WG,	/* A > 4 00 00 00: maybe weft */
	BELOW_WG,	/* A < 1 00 00 00: maybe STUN */
	MASK_WG,
	IS_WG,		/* one type byte, then zeros */
	MASK_WEFT,
	IS_WEFT,	/* 'W', a subtype, two zeros */
	STUN_LOAD,
	STUN_BITS,	/* the two top bits of a STUN type are zero */
	STUN_LOAD_COOKIE,
	IS_STUN,
	ACCEPT,
	DROP,
	FILTER_STEPS
};

/* A conditional jump from step at to the steps yes and no. */
#define JUMP(at, test, k, yes, no) \
	[at] = BPF_JUMP(BPF_JMP | (test) | BPF_K, (k), (yes) - (at) - 1, (no) - (at) - 1)

int udp_filter_attach(int fd)
{
	struct sock_filter prog[FILTER_STEPS] = {
		[LOAD_WORD] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, UDP_HEADER),
		JUMP(ABOVE_WG, BPF_JGT, FIRST_WORD(MESSAGE_DATA, 0, 0, 0),
		     MASK_WEFT, BELOW_WG),
		JUMP(BELOW_WG, BPF_JGE,
		     FIRST_WORD(MESSAGE_HANDSHAKE_INITIATION, 0, 0, 0), MASK_WG,
		     STUN_LOAD),
		[MASK_WG] = BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x00FFFFFF),
		JUMP(IS_WG, BPF_JEQ, 0, ACCEPT, STUN_LOAD),
		[MASK_WEFT] = BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xFF00FFFF),
		JUMP(IS_WEFT, BPF_JEQ, FIRST_WORD(WEFT_MESSAGE_TYPE, 0, 0, 0),
		     ACCEPT, STUN_LOAD),
		[STUN_LOAD] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, UDP_HEADER),
		JUMP(STUN_BITS, BPF_JSET, 0xC0000000, DROP, STUN_LOAD_COOKIE),
		[STUN_LOAD_COOKIE] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, UDP_HEADER + 4),
		JUMP(IS_STUN, BPF_JEQ, STUN_MAGIC_COOKIE, ACCEPT, DROP),
		/* All of it: a coalesced train must not be trimmed. */
		[ACCEPT] = BPF_STMT(BPF_RET | BPF_K, 0xFFFFFFFF),
		[DROP] = BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog fprog = { .len = FILTER_STEPS, .filter = prog };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)))
		return -errno;
	return 0;
}
