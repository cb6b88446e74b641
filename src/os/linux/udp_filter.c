/* udp_filter.c - the BPF programs that keep datagrams which cannot be ours
 * out of the daemon. A flood at the listening port then costs the kernel's
 * receive path only: no queueing, no copy to user space, no wake-up, no
 * receive-buffer space taken from real traffic.
 *
 * The header filter is classic BPF: no privilege beyond owning the
 * socket, no loader, any kernel WireGuard runs on. The session filter is
 * eBPF, assembled here (a few dozen instructions do not justify a loader
 * library or a compiler at build time), with a hash map of our live
 * receiver indices that udp_filter_index keeps in step with the core's
 * index table.
 *
 * A socket filter on a UDP socket sees the datagram from its UDP header,
 * so the payload starts at offset 8; with UDP GRO it sees the first
 * datagram of a coalesced train (all from one source, so one verdict fits
 * them all). Loads past the end drop the packet, the right answer for
 * anything too short to hold the header tested. */
#define _GNU_SOURCE
#include "os/linux/udp_filter.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

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

static int attach_header_filter(int fd)
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

/* ---- the session filter (eBPF) ---- */

static long bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

#define INSN(c, d, s, o, i)                                          \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
			    .off = (o), .imm = (i) })

enum { R0, R1, R2, R3, R4, R5, R6, R10 = 10 };

/* Steps by name, as above; MAP takes two slots (a 64-bit immediate). */
enum session_step {
	S_SAVE_CTX,		/* r6 = skb */
	S_ARG_CTX, S_ARG_OFF, S_ARG_BUF, S_ARG_BUF_OFF, S_ARG_LEN,
	S_LOAD,			/* bpf_skb_load_bytes(skb, 8, fp - 8, 8) */
	S_LOADED,		/* under 8 bytes: drop */
	S_WORD,			/* r0 = payload bytes 0..3, little-endian */
	S_IS_DATA,		/* 4 0 0 0: check the index */
	S_ABOVE_WG,		/* above 3: maybe weft, maybe STUN */
	S_IS_HANDSHAKE,		/* 1..3 0 0 0: pass */
	S_WEFT, S_WEFT_MASK, S_IS_WEFT,
	S_STUN, S_STUN_MASK, S_STUN_BITS, S_COOKIE, S_IS_STUN,
	S_NOT_OURS,
	S_KEY, S_KEY_OFF,	/* r2 = fp - 4: the receiver index */
	S_MAP, S_MAP_HI,
	S_LOOKUP, S_FOUND,
	S_ACCEPT, S_ACCEPT_EXIT,
	S_DROP, S_DROP_EXIT,
	SESSION_STEPS
};

#define MOV_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define AND_IMM(d, i) INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, i)
#define LOAD_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* From step at, if r<d> <test> imm, to step to (else the next). */
#define JIF(at, test, d, i, to) \
	[at] = INSN(BPF_JMP | (test) | BPF_K, d, 0, (to) - (at) - 1, i)

int udp_filter_open(struct udp_filter *f)
{
	union bpf_attr a;
	long fd;

	*f = UDP_FILTER_NONE;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH;
	a.key_size = 4;		/* the index as it is on the wire */
	a.value_size = 1;
	a.max_entries = UDP_FILTER_MAX_INDICES;
	a.map_flags = BPF_F_NO_PREALLOC;
	fd = bpf(BPF_MAP_CREATE, &a);
	if (fd < 0)
		return -errno;
	f->map_fd = (int)fd;

	struct bpf_insn prog[SESSION_STEPS] = {
		[S_SAVE_CTX] = MOV_REG(R6, R1),
		[S_ARG_CTX] = MOV_REG(R1, R6),
		[S_ARG_OFF] = MOV_IMM(R2, UDP_HEADER),
		[S_ARG_BUF] = MOV_REG(R3, R10),
		[S_ARG_BUF_OFF] = ADD_IMM(R3, -8),
		[S_ARG_LEN] = MOV_IMM(R4, 8),
		[S_LOAD] = CALL(BPF_FUNC_skb_load_bytes),
		JIF(S_LOADED, BPF_JNE, R0, 0, S_DROP),
		[S_WORD] = LOAD_W(R0, R10, -8),
		JIF(S_IS_DATA, BPF_JEQ, R0, MESSAGE_DATA, S_KEY),
		JIF(S_ABOVE_WG, BPF_JGT, R0, MESSAGE_HANDSHAKE_COOKIE, S_WEFT),
		JIF(S_IS_HANDSHAKE, BPF_JNE, R0, 0, S_ACCEPT),
		[S_WEFT] = MOV_REG(R1, R0),
		[S_WEFT_MASK] = AND_IMM(R1, 0xFFFF00FF),
		JIF(S_IS_WEFT, BPF_JEQ, R1, WEFT_MESSAGE_TYPE, S_ACCEPT),
		[S_STUN] = MOV_REG(R1, R0),
		[S_STUN_MASK] = AND_IMM(R1, 0xC0),
		JIF(S_STUN_BITS, BPF_JNE, R1, 0, S_DROP),
		[S_COOKIE] = LOAD_W(R1, R10, -4),
		/* the cookie's bytes 21 12 A4 42 read little-endian */
		JIF(S_IS_STUN, BPF_JEQ, R1, 0x42A41221, S_ACCEPT),
		[S_NOT_OURS] = INSN(BPF_JMP | BPF_JA, 0, 0, S_DROP - S_NOT_OURS - 1, 0),
		[S_KEY] = MOV_REG(R2, R10),
		[S_KEY_OFF] = ADD_IMM(R2, -4),
		[S_MAP] = INSN(BPF_LD | BPF_DW | BPF_IMM, R1, BPF_PSEUDO_MAP_FD, 0,
			       f->map_fd),
		[S_MAP_HI] = INSN(0, 0, 0, 0, 0),
		[S_LOOKUP] = CALL(BPF_FUNC_map_lookup_elem),
		JIF(S_FOUND, BPF_JEQ, R0, 0, S_DROP),
		/* All of it (a 32-bit move: r0 = 0xFFFFFFFF). */
		[S_ACCEPT] = INSN(BPF_ALU | BPF_MOV | BPF_K, R0, 0, 0, -1),
		[S_ACCEPT_EXIT] = EXIT(),
		[S_DROP] = MOV_IMM(R0, 0),
		[S_DROP_EXIT] = EXIT(),
	};

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = SESSION_STEPS;
	a.license = (uint64_t)(uintptr_t)"GPL";
	fd = bpf(BPF_PROG_LOAD, &a);
	if (fd < 0) {
		int err = -errno;

		udp_filter_close(f);
		return err;
	}
	f->prog_fd = (int)fd;
	return 0;
}

void udp_filter_close(struct udp_filter *f)
{
	if (f->prog_fd >= 0)
		close(f->prog_fd);
	if (f->map_fd >= 0)
		close(f->map_fd);
	*f = UDP_FILTER_NONE;
}

int udp_filter_attach(int fd, const struct udp_filter *f)
{
	if (!udp_filter_has_sessions(f))
		return attach_header_filter(fd);
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &f->prog_fd,
		       sizeof(f->prog_fd)))
		return -errno;
	return 0;
}

int udp_filter_index(const struct udp_filter *f, uint32_t index, bool live)
{
	union bpf_attr a;
	uint8_t key[4], one = 1;

	if (!udp_filter_has_sessions(f))
		return 0;
	le32_store(key, index);
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)f->map_fd;
	a.key = (uint64_t)(uintptr_t)key;
	if (live) {
		a.value = (uint64_t)(uintptr_t)&one;
		a.flags = BPF_ANY;
	}
	if (bpf(live ? BPF_MAP_UPDATE_ELEM : BPF_MAP_DELETE_ELEM, &a) == 0)
		return 0;
	return !live && errno == ENOENT ? 0 : -errno;
}
