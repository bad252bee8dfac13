/*
 * felix-proxy: the external dataplane driver Felix starts for vppnet.
 *
 * Felix runs this program (FELIX_DATAPLANEDRIVER) with no arguments inside the
 * calico-node container, which has no Python, hence a small static C program.
 * Felix writes length-prefixed ToDataplane frames to our fd 3 and reads
 * FromDataplane frames from our fd 4 (8-byte little-endian length, then the
 * protobuf bytes). The proxy carries both streams to and from the vppnet
 * agent's unix socket without parsing the protobuf.
 *
 * Why it keeps a journal: Felix sends its configuration and datastore
 * snapshot once and never resends anything. If the agent restarts, the new
 * agent must still see the whole stream. So every byte read from Felix is
 * appended to an in-memory journal, and each (re)connection to the agent is
 * fed the journal from its first byte, then the live stream. A restarted
 * agent thus replays exactly what a freshly started Felix would have sent,
 * and Felix never notices. The journal also absorbs a slow agent: fd 3 is read
 * at all times, because Felix blocks when its pipe is full.
 *
 * The journal is bounded (VPPNET_FELIX_PROXY_JOURNAL_BYTES). Past the bound
 * the proxy can no longer replay; it then keeps relaying, and exits when the
 * agent goes away, which makes Felix restart and resend its snapshot to a new
 * proxy (calico-vpp's felix-api-proxy does that on every agent restart).
 *
 * Frames from the agent are forwarded to Felix only when complete, so an
 * agent that dies mid-frame never leaves Felix with half a frame (Felix would
 * read the next frame's bytes as the rest of it and shut down).
 *
 * When Felix closes fd 3, what the agent has not received yet is handed over
 * (for up to two seconds) before the proxy exits.
 *
 * Exit status: 0 when Felix closes fd 3 or fd 4 (Felix is gone); 1 when the
 * journal cannot hold the stream any more and replay is needed; 2 on a bad
 * environment (not started by Felix, invalid setting).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FELIX_IN 3  /* Felix -> driver: ToDataplane frames */
#define FELIX_OUT 4 /* driver -> Felix: FromDataplane frames */
#define HEADER 8
#define CHUNK (256 * 1024)

#define DEFAULT_SOCKET "/var/run/calico/vppnet-felix.sock"
#define DEFAULT_JOURNAL (256ull * 1024 * 1024)
#define DEFAULT_FRAME (64ull * 1024 * 1024)
#define DEFAULT_RETRY_MS 1000ull
#define WAIT_LOG_MS 30000
#define FLUSH_MS 2000
#define STABLE_MS 1000

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

static struct {
	const char *socket_path;
	size_t journal_max; /* bytes of Felix's stream kept for replay */
	size_t frame_max;   /* largest frame accepted from the agent */
	uint64_t retry_ms;  /* between connection attempts to the agent */
} cfg;

static struct {
	struct buf journal;  /* Felix's stream; [0, sent) already went to this agent */
	size_t sent;
	int replayable;      /* the journal still starts at Felix's first byte */
	int agent;           /* connected agent socket, or -1 */
	struct buf from_agent; /* agent bytes not yet forming a whole frame */
	struct buf to_felix;   /* whole frames waiting for fd 4 */
	uint64_t next_attempt; /* monotonic ms of the next connection attempt */
	uint64_t connected_at;
	uint64_t waiting_since;
	uint64_t last_wait_log;
	unsigned long attempts;
	unsigned long connections;
} st;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logmsg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof line, "felix-proxy[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* stderr is Felix's log; one write per line keeps lines whole. */
	size_t len = strlen(line);
	if (len < sizeof line - 1)
		line[len++] = '\n';
	ssize_t ignored = write(STDERR_FILENO, line, len);
	(void)ignored;
}

static _Noreturn void die(int status, const char *why)
{
	logmsg("exiting: %s", why);
	_exit(status);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t env_u64(const char *name, uint64_t fallback, uint64_t min)
{
	const char *text = getenv(name);
	if (text == NULL || *text == '\0')
		return fallback;
	char *end = NULL;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < min || text[0] == '-') {
		logmsg("%s=%s is not a whole number >= %" PRIu64, name, text, min);
		_exit(2);
	}
	return (uint64_t)value;
}

static void configure(void)
{
	const char *path = getenv("VPPNET_FELIX_SOCKET");
	cfg.socket_path = (path != NULL && *path != '\0') ? path : DEFAULT_SOCKET;
	if (strlen(cfg.socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		logmsg("VPPNET_FELIX_SOCKET is longer than a unix socket path may be");
		_exit(2);
	}
	cfg.journal_max = (size_t)env_u64("VPPNET_FELIX_PROXY_JOURNAL_BYTES", DEFAULT_JOURNAL, 4096);
	cfg.frame_max = (size_t)env_u64("VPPNET_FELIX_PROXY_MAX_FRAME_BYTES", DEFAULT_FRAME, 64);
	cfg.retry_ms = env_u64("VPPNET_FELIX_PROXY_RETRY_MS", DEFAULT_RETRY_MS, 1);
}

static int buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 65536;
	while (cap < b->len + extra)
		cap *= 2;
	uint8_t *data = realloc(b->data, cap);
	if (data == NULL)
		return -1;
	b->data = data;
	b->cap = cap;
	return 0;
}

static void buf_append(struct buf *b, const uint8_t *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		die(1, "out of memory");
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void buf_consume(struct buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

static uint64_t frame_length(const uint8_t *p)
{
	uint64_t n = 0;
	for (int i = HEADER - 1; i >= 0; i--)
		n = (n << 8) | p[i];
	return n;
}

static void set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		die(2, "cannot make a descriptor non-blocking");
}

static void agent_lost(const char *why)
{
	close(st.agent);
	st.agent = -1;
	st.from_agent.len = 0; /* a partial frame never reaches Felix */
	logmsg("agent connection lost (%s) after %zu of %zu journal bytes", why, st.sent,
	       st.journal.len);
	if (!st.replayable)
		die(1, "the journal outgrew VPPNET_FELIX_PROXY_JOURNAL_BYTES, so a new agent "
		       "cannot be replayed Felix's stream; Felix restarts and resends it");
	st.sent = 0;
	/* Reconnect at once (a restarted agent is usually back quickly), unless the
	 * connection was short-lived: an agent that keeps hanging up must not make
	 * the proxy replay the journal in a tight loop. */
	uint64_t now = now_ms();
	st.next_attempt = now - st.connected_at < STABLE_MS ? now + cfg.retry_ms : now;
	st.waiting_since = now;
	st.last_wait_log = now;
}

static void try_connect(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, cfg.socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(1, "cannot create a unix socket");
	st.attempts++;
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
		st.agent = fd;
		st.connections++;
		st.connected_at = now_ms();
		logmsg("connected to the agent at %s (connection %lu); replaying %zu journal bytes",
		       cfg.socket_path, st.connections, st.journal.len);
		return;
	}
	int err = errno;
	close(fd);
	uint64_t now = now_ms();
	if (st.attempts == 1 || now - st.last_wait_log >= WAIT_LOG_MS) {
		logmsg("waiting for the agent at %s: %s (%lu attempts, %" PRIu64 " s, %zu bytes "
		       "journaled)", cfg.socket_path, strerror(err), st.attempts,
		       (now - st.waiting_since) / 1000u, st.journal.len);
		st.last_wait_log = now;
	}
	st.next_attempt = now + cfg.retry_ms;
}

/* Keep the journal within its bound; give up replay (then exit) when it cannot be. */
static void bound_journal(void)
{
	/* Without replay, what the agent has is dropped (in large steps, not per write). */
	if (!st.replayable && st.sent > 0 &&
	    (st.sent >= st.journal.len / 2 || st.journal.len > cfg.journal_max)) {
		buf_consume(&st.journal, st.sent);
		st.sent = 0;
	}
	if (st.journal.len <= cfg.journal_max)
		return;
	if (st.agent < 0)
		die(1, "the agent is away and Felix's stream outgrew "
		       "VPPNET_FELIX_PROXY_JOURNAL_BYTES; Felix restarts and resends it");
	if (st.replayable) {
		logmsg("the journal passed %zu bytes: an agent restart from now on makes Felix "
		       "restart instead of being replayed", cfg.journal_max);
		st.replayable = 0;
		buf_consume(&st.journal, st.sent);
		st.sent = 0;
	}
	if (st.journal.len > cfg.journal_max)
		die(1, "the agent is not reading: more than VPPNET_FELIX_PROXY_JOURNAL_BYTES of "
		       "Felix's stream is waiting for it");
}

/*
 * Felix is gone. Its last bytes may still be on their way to the agent: hand
 * them over (for at most FLUSH_MS) so the agent sees where the stream ended,
 * then exit; Felix's successor starts a new proxy and a new stream.
 */
static _Noreturn void felix_gone(const char *why)
{
	uint64_t deadline = now_ms() + FLUSH_MS;
	while (st.agent >= 0 && st.sent < st.journal.len) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		struct pollfd pfd = {.fd = st.agent, .events = POLLOUT};
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			break;
		ssize_t n = send(st.agent, st.journal.data + st.sent, st.journal.len - st.sent,
				 MSG_NOSIGNAL);
		if (n <= 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			st.sent += (size_t)n;
	}
	die(0, why);
}

static void read_felix(void)
{
	uint8_t chunk[CHUNK];
	ssize_t n = read(FELIX_IN, chunk, sizeof chunk);
	if (n == 0)
		felix_gone("Felix closed fd 3 (Felix is gone)");
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		felix_gone("cannot read fd 3 (Felix is gone)");
	}
	buf_append(&st.journal, chunk, (size_t)n);
	bound_journal();
}

static void write_felix(void)
{
	ssize_t n = write(FELIX_OUT, st.to_felix.data, st.to_felix.len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		die(0, "cannot write fd 4 (Felix is gone)");
	}
	buf_consume(&st.to_felix, (size_t)n);
}

/* Move whole frames from the agent's bytes to Felix's queue. */
static int frame_agent_bytes(void)
{
	size_t pos = 0;
	while (st.from_agent.len - pos >= HEADER) {
		uint64_t n = frame_length(st.from_agent.data + pos);
		if (n > cfg.frame_max) {
			logmsg("the agent sent a frame of %" PRIu64 " bytes, more than "
			       "VPPNET_FELIX_PROXY_MAX_FRAME_BYTES (%zu)", n, cfg.frame_max);
			return -1;
		}
		if (st.from_agent.len - pos - HEADER < n)
			break;
		buf_append(&st.to_felix, st.from_agent.data + pos, HEADER + (size_t)n);
		pos += HEADER + (size_t)n;
	}
	buf_consume(&st.from_agent, pos);
	return 0;
}

static void read_agent(void)
{
	uint8_t chunk[CHUNK];
	ssize_t n = read(st.agent, chunk, sizeof chunk);
	if (n == 0) {
		agent_lost("closed by the agent");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			agent_lost(strerror(errno));
		return;
	}
	buf_append(&st.from_agent, chunk, (size_t)n);
	if (frame_agent_bytes() != 0)
		agent_lost("bad frame from the agent");
}

static void write_agent(void)
{
	ssize_t n = send(st.agent, st.journal.data + st.sent, st.journal.len - st.sent, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			agent_lost(strerror(errno));
		return;
	}
	st.sent += (size_t)n;
	bound_journal();
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr,
			"usage: %s (started by Felix as FELIX_DATAPLANEDRIVER, with fds 3 and 4)\n"
			"environment: VPPNET_FELIX_SOCKET (default %s),\n"
			"  VPPNET_FELIX_PROXY_JOURNAL_BYTES (default %llu),\n"
			"  VPPNET_FELIX_PROXY_MAX_FRAME_BYTES (default %llu),\n"
			"  VPPNET_FELIX_PROXY_RETRY_MS (default %llu)\n",
			argv[0], DEFAULT_SOCKET, DEFAULT_JOURNAL, DEFAULT_FRAME, DEFAULT_RETRY_MS);
		return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 0 : 2;
	}
	if (fcntl(FELIX_IN, F_GETFD) < 0 || fcntl(FELIX_OUT, F_GETFD) < 0)
		die(2, "fds 3 and 4 are not open: Felix starts this program as its dataplane driver");
	signal(SIGPIPE, SIG_IGN);
	configure();
	set_nonblocking(FELIX_IN);
	set_nonblocking(FELIX_OUT);
	st.agent = -1;
	st.replayable = 1;
	st.next_attempt = st.waiting_since = st.last_wait_log = now_ms();
	logmsg("started; agent socket %s, journal bound %zu bytes", cfg.socket_path,
	       cfg.journal_max);

	for (;;) {
		if (st.agent < 0 && now_ms() >= st.next_attempt)
			try_connect();
		/* Stop taking agent frames while Felix is slow to read them. */
		int take_agent = st.to_felix.len < 4 * cfg.frame_max;
		struct pollfd fds[3] = {
			{.fd = FELIX_IN, .events = POLLIN},
			{.fd = st.to_felix.len ? FELIX_OUT : -1, .events = POLLOUT},
			{.fd = st.agent,
			 .events = (short)((take_agent ? POLLIN : 0) |
					   (st.journal.len > st.sent ? POLLOUT : 0))},
		};
		int timeout = -1;
		if (st.agent < 0) {
			uint64_t now = now_ms();
			timeout = st.next_attempt > now ? (int)(st.next_attempt - now) : 0;
		}
		if (poll(fds, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			die(1, "poll failed");
		}
		if (fds[0].revents)
			read_felix();
		if (fds[1].revents & (POLLERR | POLLHUP))
			die(0, "fd 4 closed (Felix is gone)");
		if (fds[1].revents & POLLOUT)
			write_felix();
		if (st.agent >= 0 && fds[2].revents & (POLLIN | POLLHUP | POLLERR))
			read_agent();
		if (st.agent >= 0 && fds[2].revents & POLLOUT)
			write_agent();
	}
}
