/* SPDX-License-Identifier: MIT */
/* err.c -- error strings from TL_ERRNO_MAP, and the replaceable allocator.
 * Every allocation tapeloop makes, except stacks (mmap), goes through
 * tl__alloc so that tests can fail the Nth one. */
#include <stdlib.h>
#include <string.h>

#include "loop_int.h"

static tl_alloc_fn alloc_fn;    /* NULL: the C library */
static void *alloc_ud;          /* its udata */

void
tl_set_allocator(tl_alloc_fn fn, void *udata)
{
    alloc_fn = fn;
    alloc_ud = udata;
}

void *
tl__alloc(size_t n)
{
    return alloc_fn ? alloc_fn(alloc_ud, NULL, n ? n : 1) : malloc(n ? n : 1);
}

void *
tl__calloc(size_t n)
{
    void *p = tl__alloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *
tl__realloc(void *p, size_t n)
{
    return alloc_fn ? alloc_fn(alloc_ud, p, n ? n : 1) : realloc(p, n ? n : 1);
}

void
tl__free(void *p)
{
    if (!p)
        return;
    if (alloc_fn)
        alloc_fn(alloc_ud, p, 0);
    else
        free(p);
}

char *
tl__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = tl__alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int
tl__name(char **out, const char *name)
{
    size_t n;

    *out = NULL;
    if (!name)
        return 0;
    n = strnlen(name, TL_NAME_MAX + 1);
    if (n > TL_NAME_MAX)
        return TL_ENAMETOOLONG;
    if (!(*out = tl__alloc(n + 1)))
        return TL_ENOMEM;
    memcpy(*out, name, n + 1);
    return 0;
}

const char *
tl_strerror(int code)
{
    switch (code) {
#define TL__XX(n, v, s) case TL_##n: return s;
    TL_ERRNO_MAP(TL__XX)
#undef TL__XX
    case 0:
        return "success";
    }
    if (code < 0 && code > -4000)
        return strerror(-code);
    return "unknown error";
}

const char *
tl_err_name(int code)
{
    switch (code) {
#define TL__XX(n, v, s) case TL_##n: return "TL_" #n;
    TL_ERRNO_MAP(TL__XX)
#undef TL__XX
    case 0:
        return "0";
    }
    if (code < 0 && code > -4000) {
        const char *s = strerrorname_np(-code);
        return s ? s : "?";
    }
    return "?";
}
