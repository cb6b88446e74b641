/* tun.c - the Linux TUN device through /dev/net/tun. */
#include "os/linux/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/linux/log.h"

/* The one place the device flags are chosen: IFF_VNET_HDR (offloads) and
 * IFF_MULTI_QUEUE go here, together with what they change in read/write. */
enum { TUN_IFF_FLAGS = IFF_TUN | IFF_NO_PI };

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

int tun_open(struct tun *t, const char *name)
{
	struct ifreq ifr = { 0 };
	size_t len = name ? strlen(name) : 0;
	int err;

	t->fd = -1;
	t->ifindex = 0;
	t->name[0] = '\0';
	t->rx_dropped = 0;
	if (len >= IFNAMSIZ)
		return -ENAMETOOLONG;

	t->fd = open(tun_dev_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	ifr.ifr_flags = TUN_IFF_FLAGS;
	if (len)
		memcpy(ifr.ifr_name, name, len);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		goto fail;
	}
	err = tun_identify(t);
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

int tun_adopt(struct tun *t, int fd)
{
	struct ifreq ifr = { 0 };
	int fl, err;

	t->fd = -1;
	t->ifindex = 0;
	t->name[0] = '\0';
	t->rx_dropped = 0;
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? -EBADFD : -EINVAL;
	/* IFF_MULTI_QUEUE etc. may come later; what we read and write
	 * depends on these bits. */
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) !=
	    TUN_IFF_FLAGS)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	t->fd = fd;
	err = tun_identify(t);
	if (err) {
		t->fd = -1;
		return err;
	}
	return 0;
}

void tun_close(struct tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
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

int tun_read_batch(struct tun *t, struct pool *pool, struct batch *b,
		   unsigned max)
{
	unsigned room = BATCH_MAX - b->n, n = 0, tries;
	int err = 0;

	if (max > room)
		max = room;
	/* Every read consumes a queued packet, dropped or not; bounding the
	 * attempts keeps a flood of bad packets from holding the loop. */
	for (tries = 0; n < max && tries < 2 * max; tries++) {
		struct pkt *p = pool_get(pool);
		ssize_t r;

		if (!p)
			break;
		do
			r = read(t->fd, p->buf + PKT_HEADROOM, TUN_READ_CAP);
		while (r < 0 && errno == EINTR);
		if (r <= 0 || r >= TUN_READ_CAP) {
			if (r < 0)
				err = errno;
			pool_put(pool, p);
			if (r < 0)
				break;
			t->rx_dropped++;
			if (r == 0)
				break;	/* not a TUN behaviour; do not loop on it */
			continue;
		}
		p->off = PKT_HEADROOM;
		p->len = (uint32_t)r;
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
	uint64_t lost = 0;
	int sent = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct pkt *p = b->p[i];
		ssize_t r;

		do
			r = write(t->fd, pkt_data(p), p->len);
		while (r < 0 && errno == EINTR);
		/* EAGAIN: the device queue is full; dropping beats blocking
		 * the engine. EINVAL/EIO: the kernel refused this packet
		 * (malformed, or the device is down). */
		if (r == (ssize_t)p->len)
			sent++;
		else
			lost++;
	}
	if (dropped)
		*dropped += lost;
	return sent;
}
