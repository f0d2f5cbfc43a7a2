#include "base/sig.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t got;

static void on_signal(int n)
{
	got = n;
}

void ado_sig_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int ado_interrupted(void)
{
	return got;
}

int ado_sig_exit(int n)
{
	return 128 + n;
}
