/* helper_proto.c - framing and the two blocking calls of the engine <->
 * helper protocol (helper_proto.h). */
#define _GNU_SOURCE
#include "os/linux/helper_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static bool addr_valid(const struct helper_addr *a)
{
	if (a->family == 4)
		return a->cidr <= 32;
	if (a->family == 6)
		return a->cidr <= 128;
	return false;
}

bool helper_msg_valid(const struct helper_msg *m, size_t len)
{
	unsigned i;

	if (len != sizeof(*m) || m->magic != HELPER_MAGIC ||
	    m->version != HELPER_VERSION)
		return false;
	switch (m->type) {
	case HELPER_HELLO:
		return m->u.hello.ifindex > 0 &&
		       memchr(m->u.hello.ifname, '\0', sizeof(m->u.hello.ifname)) &&
		       m->u.hello.ifname[0];
	case HELPER_ADDR_SET:
	case HELPER_ROUTE_ADD:
	case HELPER_ROUTE_DEL:
		return addr_valid(&m->u.addr);
	case HELPER_MTU_SET:
		return m->u.mtu >= 1280 && m->u.mtu <= 65535;
	case HELPER_EXIT_USE:
		if (m->u.exit_use.n_dns > HELPER_MAX_DNS ||
		    m->u.exit_use.n_endpoints > HELPER_MAX_PREFIXES)
			return false;
		for (i = 0; i < m->u.exit_use.n_dns; i++)
			if (!addr_valid(&m->u.exit_use.dns[i]))
				return false;
		for (i = 0; i < m->u.exit_use.n_endpoints; i++)
			if (!addr_valid(&m->u.exit_use.endpoints[i]) ||
			    !m->u.exit_use.ports[i])
				return false;
		return true;
	case HELPER_EXIT_STOP:
	case HELPER_EXIT_SERVE:
	case HELPER_EXIT_SERVE_STOP:
		return true;
	case HELPER_ANSWER:
		return m->u.answer.err <= 0 &&
		       memchr(m->u.answer.reason, '\0', sizeof(m->u.answer.reason));
	default:
		return false;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int helper_call(int sock, struct helper_msg *req, int timeout_ms,
		char reason[HELPER_REASON_MAX])
{
	static uint32_t seq;
	struct helper_msg ans;
	int64_t deadline = now_ms() + timeout_ms;
	ssize_t n;

	reason[0] = '\0';
	req->magic = HELPER_MAGIC;
	req->version = HELPER_VERSION;
	req->seq = ++seq;
	if (send(sock, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req)) {
		snprintf(reason, HELPER_REASON_MAX, "the privileged helper is gone");
		return -EPIPE;
	}
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			snprintf(reason, HELPER_REASON_MAX, "the privileged helper did not answer");
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!p.revents)
			continue;
		n = recv(sock, &ans, sizeof(ans), MSG_TRUNC);
		if (n <= 0) {
			snprintf(reason, HELPER_REASON_MAX, "the privileged helper is gone");
			return -EPIPE;
		}
		if (!helper_msg_valid(&ans, (size_t)n) || ans.type != HELPER_ANSWER ||
		    ans.seq != req->seq) {
			snprintf(reason, HELPER_REASON_MAX, "garbled answer from the helper");
			return -EPROTO;
		}
		snprintf(reason, HELPER_REASON_MAX, "%s", ans.u.answer.reason);
		return ans.u.answer.err;
	}
}

int helper_send_hello(int sock, const struct helper_msg *hello, int tun_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)hello, .iov_len = sizeof(*hello) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &tun_fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(*hello) ? 0 : -errno;
}

int helper_recv_hello(int sock, struct helper_msg *hello, int *tun_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = hello, .iov_len = sizeof(*hello) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*tun_fd = -1;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(tun_fd, CMSG_DATA(cm), sizeof(int));
	if (!helper_msg_valid(hello, (size_t)n) || hello->type != HELPER_HELLO ||
	    *tun_fd < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (*tun_fd >= 0)
			close(*tun_fd);
		*tun_fd = -1;
		return -EPROTO;
	}
	return 0;
}
