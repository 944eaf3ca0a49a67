/* SPDX-License-Identifier: MIT */
/* hook.c -- the loop's event hooks: registration, the event clock, and
 * tl__emit, which stamps an event (seq, time, run) and hands it to every
 * hook that wants its kind.  The emission sites are TL__EV in the core;
 * with no hook installed each costs one predictable branch.
 */
#include <string.h>
#include <time.h>

#include "loop_int.h"

struct tl__hook {
    uint64_t mask;              /* kinds it wants */
    tl_hook_fn fn;              /* called with each */
    void *udata;                /* its argument; never freed by us */
};

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Measures the tick rate against CLOCK_MONOTONIC over ~2 ms, once per
 * loop, when its first hook arrives. */
static void
calibrate(tl_loop *loop)
{
    uint64_t t1;
    int64_t n1;

    loop->tick0 = tl__ticks();
    loop->ns0 = mono_ns();
    do {
        t1 = tl__ticks();
        n1 = mono_ns();
    } while (n1 - loop->ns0 < 2000000);
    loop->tick_ns = t1 > loop->tick0
                        ? (uint64_t)((double)(n1 - loop->ns0) /
                                     (double)(t1 - loop->tick0) * 4294967296.0)
                        : (uint64_t)1 << 32;
}

void
tl__tape_event(tl_loop *loop, const tl_event *ev, uint64_t seq)
{
    tl__trec h = {.kind = ev->kind, .okind = ev->okind, .flags = ev->flags,
                  .task = ev->task, .object = ev->object,
                  .loop = loop->tape_loop, .run = loop->run, .seq = seq,
                  .time = loop->evtime, .a = ev->a, .b = ev->b};

    tl__tape_put(loop->tape, &h, ev->payload, ev->payload ? ev->len : 0);
}

void
tl__emit(tl_loop *loop, tl_event *ev, int fresh)
{
    uint64_t bit = TL_EVMASK(ev->kind);

    tl__ev_stamp(loop, fresh);
    ev->seq = ++loop->evseq;
    ev->time = loop->evtime;
    ev->run = loop->run;
    if (loop->tape)
        tl__tape_event(loop, ev, ev->seq);
    for (size_t i = 0; i < loop->nhooks; i++)
        if (loop->hooks[i].mask & bit)
            loop->hooks[i].fn(ev, loop->hooks[i].udata);
}

void
tl__evmask_update(tl_loop *loop)
{
    loop->evmask = loop->tape ? TL_EVMASK_ALL : 0;
    loop->tape_fast = loop->tape && !loop->nhooks;
    for (size_t i = 0; i < loop->nhooks; i++)
        loop->evmask |= loop->hooks[i].mask;
    if (loop->evmask && loop->tick_ns == 0 && !loop->env->cheap_now)
        calibrate(loop);
}

int
tl_loop_add_hook(tl_loop *loop, uint64_t mask, tl_hook_fn fn, void *udata)
{
    struct tl__hook *h;

    if (!loop || !fn || !(mask &= TL_EVMASK_ALL))
        return TL_EINVAL;
    h = tl__realloc(loop->hooks, (loop->nhooks + 1) * sizeof *h);
    if (!h)
        return TL_ENOMEM;
    loop->hooks = h;
    h[loop->nhooks++] = (struct tl__hook){mask, fn, udata};
    tl__evmask_update(loop);
    return 0;
}

int
tl_loop_remove_hook(tl_loop *loop, tl_hook_fn fn, void *udata)
{
    if (!loop)
        return TL_EINVAL;
    for (size_t i = 0; i < loop->nhooks; i++) {
        if (loop->hooks[i].fn != fn || loop->hooks[i].udata != udata)
            continue;
        memmove(&loop->hooks[i], &loop->hooks[i + 1],
                (loop->nhooks - i - 1) * sizeof *loop->hooks);
        loop->nhooks--;
        tl__evmask_update(loop);
        return 0;
    }
    return TL_EINVAL;
}

void
tl__hooks_free(tl_loop *loop)
{
    tl__free(loop->hooks);
    loop->hooks = NULL;
    loop->nhooks = 0;
    loop->tape = NULL;
    loop->tape_fast = 0;
    loop->evmask = 0;
}

const char *
tl_event_name(int kind)
{
    static const char *const names[] = {
#define TL__XX(N, n) #n,
        TL_EVENT_MAP(TL__XX)
#undef TL__XX
    };
    return kind >= 0 && kind < TL_EV__COUNT ? names[kind] : "?";
}
