/*
 * flox-k8s runc front, compiled: the fast path of sh/runc.sh.
 *
 * containerd-shim-runc-v2 runs `runc` through PATH for every task operation; the launcher puts
 * this program first. A shell script costs an exec of /bin/sh and its parse on each of them
 * (~1.3 ms here, twice per container start), and its hand-off forks a watchdog; this does the
 * same work with a few system calls:
 *
 *   - a subcommand other than create/exec: exec the real runc with the same argv;
 *   - create/exec while the node agent's patch service is up: claim a reply FIFO of its pool,
 *     write `<create|exec> <pid> <slot>` to its request FIFO and wait for the answer (at most
 *     1 s for the first line, as the script's watchdog): `ok` execs runc, `fail <line>` prints
 *     the line and exits 1;
 *   - everything else (no runc configured, no service, no pool FIFO left, --preserve-fds, a
 *     `decline`, no answer, the service gone mid-way, anything unexpected) execs the script
 *     `runc.sh` beside this program with the same argv, which decides as it always has. After
 *     a failed hand-off it is told so (FLOXK8S_FRONT_NO_HANDOFF=1) and goes straight to its
 *     `grep` check and per-create Node.
 *
 * The protocol is @flox-k8s/agent-protocol's (patch-protocol.ts); the service checks that the
 * asking process runs this program (/proc/<pid>/exe) or the script. Settings come from
 * `runc-front.conf` beside this program (`runc=<path>` and `patcher=<dir>`, written by
 * install-layout). Build: musl-gcc (or cc) -O2 -static -o runc runc-front.c; nothing else.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCRIPT_NAME "runc.sh"
#define CONFIG_NAME "runc-front.conf"
#define FIRST_ANSWER_MS 1000
#define MAX_SLOT 40

static char self_dir[PATH_MAX];
static char script[PATH_MAX];
static char runc[PATH_MAX];
static char patcher[PATH_MAX];

/* The script decides: it is what this program speeds up, and it handles every case. */
static void run_script(char **argv, int after_handoff) {
  if (after_handoff) setenv("FLOXK8S_FRONT_NO_HANDOFF", "1", 1);
  if (script[0] != '\0') execv(script, argv);
  dprintf(2, "flox-k8s: runc front: cannot run %s: %s; reinstall the flox-k8s layout\n", script[0] ? script : SCRIPT_NAME, strerror(errno));
  _exit(127);
}

static void run_runc(char **argv) {
  argv[0] = runc;
  execv(runc, argv);
  dprintf(2, "flox-k8s: runc front: cannot run %s: %s\n", runc, strerror(errno));
  _exit(127);
}

static int join_path(char *out, const char *dir, const char *a, const char *b) {
  int n = b == NULL ? snprintf(out, PATH_MAX, "%s/%s", dir, a) : snprintf(out, PATH_MAX, "%s/%s/%s", dir, a, b);
  return n > 0 && n < PATH_MAX;
}

/* runc-front.conf: `runc=<absolute path>` and `patcher=<absolute dir or empty>`; anything else is refused. */
static int read_config(void) {
  char path[PATH_MAX], text[2 * PATH_MAX + 64];
  if (!join_path(path, self_dir, CONFIG_NAME, NULL)) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0 || n == (ssize_t)sizeof text - 1) return 0;
  text[n] = '\0';
  int have_runc = 0, have_patcher = 0;
  for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
    next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    char *value = strchr(line, '=');
    if (value == NULL) return 0;
    *value++ = '\0';
    size_t len = strlen(value);
    if (len >= PATH_MAX || (len > 0 && value[0] != '/')) return 0;
    if (strcmp(line, "runc") == 0 && len > 0) {
      memcpy(runc, value, len + 1);
      have_runc = 1;
    } else if (strcmp(line, "patcher") == 0) {
      memcpy(patcher, value, len + 1);
      have_patcher = 1;
    } else {
      return 0;
    }
  }
  return have_runc && have_patcher;
}

enum subcommand { OTHER, CREATE, EXEC };

/* As the script: the subcommand is the first argument that is not a global flag or its value. */
static enum subcommand parse_argv(int argc, char **argv, int *preserve_fds) {
  enum subcommand sub = OTHER;
  int skip = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (sub != OTHER) {
      if (strcmp(arg, "--preserve-fds") == 0 || strcmp(arg, "-preserve-fds") == 0 || strncmp(arg, "--preserve-fds=", 15) == 0 ||
          strncmp(arg, "-preserve-fds=", 14) == 0)
        *preserve_fds = 1;
      continue;
    }
    if (skip) {
      skip = 0;
      continue;
    }
    if (strcmp(arg, "--log") == 0 || strcmp(arg, "-log") == 0 || strcmp(arg, "--log-format") == 0 || strcmp(arg, "-log-format") == 0 ||
        strcmp(arg, "--root") == 0 || strcmp(arg, "-root") == 0 || strcmp(arg, "--criu") == 0 || strcmp(arg, "-criu") == 0 ||
        strcmp(arg, "--rootless") == 0 || strcmp(arg, "-rootless") == 0)
      skip = 1;
    else if (arg[0] == '-')
      continue;
    else if (strcmp(arg, "create") == 0)
      sub = CREATE;
    else if (strcmp(arg, "exec") == 0)
      sub = EXEC;
    else
      break;
  }
  return sub;
}

static int is_fifo(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

/*
 * Claims a FIFO of the service's pool (`replies/p…`) by creating `claims/<slot>` with O_EXCL and
 * writing our pid in it; 1 with `slot` set, or 0 when none is left.
 */
static int claim_slot(char *slot, char *reply, char *claim) {
  char replies[PATH_MAX];
  if (!join_path(replies, patcher, "replies", NULL)) return 0;
  DIR *dir = opendir(replies);
  if (dir == NULL) return 0;
  int claimed = 0;
  for (struct dirent *entry; !claimed && (entry = readdir(dir)) != NULL;) {
    const char *name = entry->d_name;
    if (name[0] != 'p' || strlen(name) >= MAX_SLOT) continue;
    if (!join_path(reply, patcher, "replies", name) || !join_path(claim, patcher, "claims", name) || !is_fifo(reply)) continue;
    int fd = open(claim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) continue;
    /* Served and released between the test and the claim: the service unlinks the FIFO before its claim. */
    if (is_fifo(reply)) {
      dprintf(fd, "%d\n", (int)getpid());
      strcpy(slot, name);
      claimed = 1;
    }
    close(fd);
  }
  closedir(dir);
  return claimed;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

enum answer { ANSWER_OK, ANSWER_FAIL, ANSWER_NONE };

/* Reads the service's lines until `ok` or `fail …`; ANSWER_NONE on decline, silence, EOF or a bad line. */
static enum answer read_answer(int fd) {
  static char buf[65536];
  size_t have = 0;
  int answered = 0;
  long deadline = now_ms() + FIRST_ANSWER_MS;
  for (;;) {
    char *newline;
    while ((newline = memchr(buf, '\n', have)) != NULL) {
      *newline = '\0';
      answered = 1;
      if (strcmp(buf, "ok") == 0) return ANSWER_OK;
      if (strncmp(buf, "fail ", 5) == 0) {
        dprintf(2, "%s\n", buf + 5);
        return ANSWER_FAIL;
      }
      if (strcmp(buf, "decline") == 0) return ANSWER_NONE;
      /* `accepted`, or a line this version does not know: keep waiting. */
      size_t used = (size_t)(newline - buf) + 1;
      memmove(buf, newline + 1, have - used);
      have -= used;
    }
    if (have == sizeof buf) return ANSWER_NONE;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int timeout = -1;
    if (!answered) {
      long left = deadline - now_ms();
      if (left <= 0) return ANSWER_NONE;
      timeout = (int)left;
    }
    int ready = poll(&pfd, 1, timeout);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return ANSWER_NONE;
    ssize_t n = read(fd, buf + have, sizeof buf - have);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return ANSWER_NONE; /* the agent went away: its held ends closed */
    have += (size_t)n;
  }
}

int main(int argc, char **argv) {
  ssize_t len = readlink("/proc/self/exe", self_dir, sizeof self_dir - 1);
  char *slash = len > 0 ? memrchr(self_dir, '/', (size_t)len) : NULL;
  if (slash == NULL) run_script(argv, 0);
  *slash = '\0';
  if (!join_path(script, self_dir, SCRIPT_NAME, NULL)) script[0] = '\0';
  if (!read_config()) run_script(argv, 0);

  int preserve_fds = 0;
  enum subcommand sub = parse_argv(argc, argv, &preserve_fds);
  if (sub == OTHER) run_runc(argv);

  char requests[PATH_MAX], slot[MAX_SLOT], reply[PATH_MAX], claim[PATH_MAX];
  if (patcher[0] == '\0' || preserve_fds || !join_path(requests, patcher, "requests", NULL) || !is_fifo(requests)) run_script(argv, 0);
  /* No pool FIFO left: the script makes one of its own. */
  if (!claim_slot(slot, reply, claim)) run_script(argv, 0);

  enum answer answer = ANSWER_NONE;
  /* The service holds the other end of its pool FIFOs: this open does not wait. */
  int fd = open(reply, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    int req = open(requests, O_RDWR | O_CLOEXEC);
    if (req >= 0) {
      char line[128];
      int n = snprintf(line, sizeof line, "%s %d %s\n", sub == CREATE ? "create" : "exec", (int)getpid(), slot);
      int written = n > 0 && n < (int)sizeof line && write(req, line, (size_t)n) == n;
      close(req);
      if (written) answer = read_answer(fd);
    }
    close(fd);
  }
  if (answer == ANSWER_OK) run_runc(argv);
  if (answer == ANSWER_FAIL) return 1;
  unlink(reply);
  unlink(claim);
  run_script(argv, 1);
  return 127;
}
