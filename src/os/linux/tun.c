/* tun.c - the Linux TUN device through /dev/net/tun. */
#include "os/linux/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/offload.h"
#include "os/linux/env.h"
#include "os/linux/log.h"

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

/* The one place the device flags are chosen: IFF_MULTI_QUEUE goes here
 * too, together with what it changes in read/write. IFF_VNET_HDR is the
 * offload mode: every read and write carries a virtio_net_hdr. */
enum { TUN_IFF_FLAGS = IFF_TUN | IFF_NO_PI };

_Static_assert((int)TUN_VNET_HDR_LEN == (int)VIRTIO_NET_HDR_LEN,
	       "one header size");
_Static_assert((int)PKT_HEADROOM >= (int)TUN_VNET_HDR_LEN,
	       "tun_read_batch reads the header into the headroom");

/* Bytes a packet may occupy in a pool buffer read from the TUN. */
enum { TUN_READ_CAP = PKT_BUF_SIZE - PKT_HEADROOM - PKT_TAILROOM };

static const char tun_dev_path[] = "/dev/net/tun";

/* Interface ioctls need some socket; an AF_INET datagram one is cheapest. */
static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, req, ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* An ifreq naming the interface as it is called now: TUNGETIFF on our own
 * fd follows renames, t->name is what we knew at open. */
static void tun_ifreq(const struct tun *t, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	if (t->fd >= 0 && ioctl(t->fd, TUNGETIFF, ifr) == 0 && ifr->ifr_name[0])
		return;
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, t->name, sizeof(ifr->ifr_name));
}

/* Fill name and ifindex from the attached fd. */
static int tun_identify(struct tun *t)
{
	struct ifreq ifr = { 0 };
	int err;

	if (ioctl(t->fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	memcpy(t->name, ifr.ifr_name, sizeof(t->name));
	t->name[sizeof(t->name) - 1] = '\0';
	err = ifreq_ioctl(SIOCGIFINDEX, &ifr);
	if (err)
		return err;
	t->ifindex = ifr.ifr_ifindex;
	return 0;
}

static void tun_reset(struct tun *t)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

/* Open /dev/net/tun and attach it to name with flags. */
static int tun_attach(struct tun *t, const char *name, short flags)
{
	struct ifreq ifr = { 0 };
	size_t len = name ? strlen(name) : 0;
	int err;

	tun_reset(t);
	if (len >= IFNAMSIZ)
		return -ENAMETOOLONG;
	t->fd = open(tun_dev_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	ifr.ifr_flags = flags;
	if (len)
		memcpy(ifr.ifr_name, name, len);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		tun_close(t);
		return err;
	}
	return 0;
}

/* Name, ifindex and MTU of a freshly attached device. */
static int tun_finish(struct tun *t)
{
	int err = tun_identify(t);

	if (err)
		goto fail;
	err = tun_set_mtu(t, WG_DEFAULT_MTU);
	if (err == -EPERM) {
		/* Attached to a persistent device without CAP_NET_ADMIN:
		 * whoever made it chose the MTU. */
		log_warn("cannot set MTU of %s (%s), keeping %d", t->name,
			 strerror(-err), tun_get_mtu(t));
		err = 0;
	}
	if (err)
		goto fail;
	return 0;
fail:
	tun_close(t);
	return err;
}

int tun_open(struct tun *t, const char *name)
{
	int err = tun_attach(t, name, TUN_IFF_FLAGS);

	return err ? err : tun_finish(t);
}

static bool host_little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

/* The header (10 bytes, little-endian) and the offloads on an
 * IFF_VNET_HDR fd. TUNSETOFFLOAD refuses bits it does not know with
 * EINVAL: USO4|USO6 before 6.2, so ask again with less. */
static int vnet_setup(struct tun *t, unsigned want)
{
	int sz = TUN_VNET_HDR_LEN, le = 1;
	unsigned long off = 0;

	if (ioctl(t->fd, TUNSETVNETHDRSZ, &sz) < 0)
		return -errno;
	/* Native order is little-endian where most of us run; elsewhere
	 * the header must be made so, as core/offload.h reads it. */
	if (ioctl(t->fd, TUNSETVNETLE, &le) < 0 && !host_little_endian())
		return -errno;
	if (want)
		off |= TUN_F_CSUM;
	if (want & TUN_OFFLOAD_TSO)
		off |= TUN_F_TSO4 | TUN_F_TSO6;
	if (want & TUN_OFFLOAD_USO)
		off |= TUN_F_USO4 | TUN_F_USO6;
	while (ioctl(t->fd, TUNSETOFFLOAD, off) < 0) {
		if (errno != EINVAL || off == 0)
			return -errno;
		if (off & (TUN_F_USO4 | TUN_F_USO6))
			off &= ~(unsigned long)(TUN_F_USO4 | TUN_F_USO6);
		else if (off & (TUN_F_TSO4 | TUN_F_TSO6))
			off &= ~(unsigned long)(TUN_F_TSO4 | TUN_F_TSO6);
		else
			off = 0;
	}
	t->vnet_hdr = true;
	t->csum = off & TUN_F_CSUM;
	t->tso = off & TUN_F_TSO4;
	t->uso = off & TUN_F_USO4;
	return 0;
}

int tun_open_offload(struct tun *t, const char *name, unsigned want)
{
	int err;

	if (!want || env_switch(TUN_ENV_NO_OFFLOAD))
		return tun_open(t, name);
	err = tun_attach(t, name, TUN_IFF_FLAGS | IFF_VNET_HDR);
	if (err == -EINVAL) {
		log_warn("TUN offloads unavailable (IFF_VNET_HDR refused)");
		return tun_open(t, name);
	}
	if (err)
		return err;
	err = vnet_setup(t, want);
	if (err) {
		/* Closing a device we created removes it: start over. */
		log_warn("TUN offloads unavailable (%s)", strerror(-err));
		tun_close(t);
		return tun_open(t, name);
	}
	err = tun_finish(t);
	if (!err)
		log_info("%s: TUN offloads: checksum %s, TSO %s, USO %s", t->name,
			 t->csum ? "on" : "off", t->tso ? "on" : "off",
			 t->uso ? "on" : "off");
	return err;
}

int tun_adopt(struct tun *t, int fd)
{
	struct ifreq ifr = { 0 };
	int fl, err;

	tun_reset(t);
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? -EBADFD : -EINVAL;
	/* IFF_MULTI_QUEUE etc. may come later; what we read and write
	 * depends on these bits. */
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP | IFF_NO_PI)) != TUN_IFF_FLAGS)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	t->fd = fd;
	err = tun_identify(t);
	if (!err && (ifr.ifr_flags & IFF_VNET_HDR))
		err = vnet_setup(t, env_switch(TUN_ENV_NO_OFFLOAD) ? 0 : TUN_OFFLOAD_ALL);
	if (err) {
		tun_reset(t);
		return err;
	}
	return 0;
}

void tun_close(struct tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->vnet_hdr = t->csum = t->tso = t->uso = false;
}

int tun_get_mtu(const struct tun *t)
{
	struct ifreq ifr;
	int err;

	tun_ifreq(t, &ifr);
	err = ifreq_ioctl(SIOCGIFMTU, &ifr);
	return err ? err : ifr.ifr_mtu;
}

int tun_set_mtu(const struct tun *t, int mtu)
{
	struct ifreq ifr;

	if (mtu <= 0 || mtu > WG_MAX_MTU)
		return -EINVAL;
	tun_ifreq(t, &ifr);
	ifr.ifr_mtu = mtu;
	return ifreq_ioctl(SIOCSIFMTU, &ifr);
}

int tun_set_up(const struct tun *t, bool up)
{
	struct ifreq ifr;
	int err;

	tun_ifreq(t, &ifr);
	err = ifreq_ioctl(SIOCGIFFLAGS, &ifr);
	if (err)
		return err;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return ifreq_ioctl(SIOCSIFFLAGS, &ifr);
}

/* Complete a NEEDS_CSUM checksum in place: the field holds the pseudo-
 * header sum, the result covers [start, len). As skb_checksum_help, a
 * result of 0 is sent as 0xffff (the same in one's complement, and what
 * UDP requires). */
static bool csum_complete(uint8_t *pkt, size_t len, size_t start, size_t field)
{
	uint32_t sum = 0;
	size_t i;

	if (start >= len || field + 2 > len || field < start)
		return false;
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)pkt[i] << 8 | pkt[i + 1];
	if (i < len)
		sum += (uint32_t)pkt[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	if (sum == 0)
		sum = 0xffff;
	pkt[field] = (uint8_t)(sum >> 8);
	pkt[field + 1] = (uint8_t)sum;
	return true;
}

/* A packet behind header h that tun_read_batch can pass on as it is:
 * not a super-packet, checksum completed when the kernel left it to us. */
static bool vnet_plain(const struct virtio_net_hdr *h, uint8_t *pkt, size_t len)
{
	size_t start = vnet_le16_load(h->csum_start);

	if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)
		return false;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return true;
	return csum_complete(pkt, len, start,
			     start + vnet_le16_load(h->csum_offset));
}

int tun_read_batch(struct tun *t, struct pool *pool, struct batch *b,
		   unsigned max)
{
	unsigned room = BATCH_MAX - b->n, n = 0, tries;
	/* In offload mode the header lands in the headroom, just before
	 * the packet. */
	size_t hdr = t->vnet_hdr ? TUN_VNET_HDR_LEN : 0;
	size_t cap = TUN_READ_CAP + hdr;
	int err = 0;

	if (max > room)
		max = room;
	/* Every read consumes a queued packet, dropped or not; bounding the
	 * attempts keeps a flood of bad packets from holding the loop. */
	for (tries = 0; n < max && tries < 2 * max; tries++) {
		struct pkt *p = pool_get(pool);
		uint8_t *at;
		ssize_t r;

		if (!p)
			break;
		at = p->buf + PKT_HEADROOM - hdr;
		do
			r = read(t->fd, at, cap);
		while (r < 0 && errno == EINTR);
		if (r <= (ssize_t)hdr || r >= (ssize_t)cap) {
			if (r < 0)
				err = errno;
			pool_put(pool, p);
			if (r < 0)
				break;
			/* A super-packet is larger than a pool buffer: its
			 * header still tells what it was. */
			if (hdr && r > (ssize_t)hdr &&
			    (((const struct virtio_net_hdr *)(void *)at)->gso_type &
			     ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)
				t->rx_offload_dropped++;
			else
				t->rx_dropped++;
			if (r == 0)
				break;	/* not a TUN behaviour; do not loop on it */
			continue;
		}
		if (hdr && !vnet_plain((const struct virtio_net_hdr *)(void *)at,
				       at + hdr, (size_t)r - hdr)) {
			pool_put(pool, p);
			t->rx_offload_dropped++;
			continue;
		}
		p->off = PKT_HEADROOM;
		p->len = (uint32_t)((size_t)r - hdr);
		p->peer = NULL;
		p->next = NULL;
		memset(&p->ep, 0, sizeof(p->ep));
		b->p[b->n++] = p;
		n++;
	}
	if (n == 0 && err && err != EAGAIN && err != EWOULDBLOCK)
		return -err;
	return (int)n;
}

int tun_write_batch(struct tun *t, struct batch *b, uint64_t *dropped)
{
	static const uint8_t zero_hdr[TUN_VNET_HDR_LEN];
	struct iovec iov[2] = { { (void *)zero_hdr, sizeof(zero_hdr) } };
	unsigned first = t->vnet_hdr ? 0 : 1;
	uint64_t lost = 0;
	int sent = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct pkt *p = b->p[i];

		iov[1].iov_base = pkt_data(p);
		iov[1].iov_len = p->len;
		/* -EAGAIN: the device queue is full; dropping beats
		 * blocking the engine. -EINVAL/-EIO: the kernel refused
		 * this packet (malformed, or the device is down). */
		if (tun_writev(t, iov + first, 2 - (int)first) >= 0)
			sent++;
		else
			lost++;
	}
	if (dropped)
		*dropped += lost;
	return sent;
}

ssize_t tun_read_raw(struct tun *t, uint8_t *buf, size_t cap)
{
	ssize_t r;

	do
		r = read(t->fd, buf, cap);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (r == 0)
		return -EIO;	/* not a TUN behaviour */
	if ((size_t)r >= cap) {
		t->rx_dropped++;
		return -EMSGSIZE;
	}
	return r;
}

int tun_writev(struct tun *t, const struct iovec *iov, int iovcnt)
{
	ssize_t r;

	do
		r = writev(t->fd, iov, iovcnt);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int)r;
}
