/*
 * Shared by the interop test clients: the message content rule Petrel's side uses too
 * (test/interop/interopSupport.ts). Message i has length messageLength(i, maxLength), carries its
 * index as a little-endian u32 in its first 4 bytes, then byte k = (i * 31 + k) & 255.
 */
#ifndef PETREL_INTEROP_COMMON_H
#define PETREL_INTEROP_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sched.h>

#include "aeronc.h"

static inline int32_t interop_message_length(uint32_t index, int32_t max_length)
{
    uint32_t mixed = index * 2654435761u;
    uint32_t span = (uint32_t)(max_length - 4 + 1);
    return 4 + (int32_t)((mixed >> 7) % span);
}

static inline void interop_fill(uint8_t *out, int32_t length, uint32_t index)
{
    out[0] = (uint8_t)(index & 255u);
    out[1] = (uint8_t)((index >> 8) & 255u);
    out[2] = (uint8_t)((index >> 16) & 255u);
    out[3] = (uint8_t)((index >> 24) & 255u);
    uint32_t base = index * 31u;
    for (int32_t k = 4; k < length; k++)
    {
        out[k] = (uint8_t)((base + (uint32_t)k) & 255u);
    }
}

static inline double interop_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline aeron_t *interop_connect(const char *aeron_dir)
{
    aeron_context_t *context = NULL;
    aeron_t *aeron = NULL;
    if (aeron_context_init(&context) < 0 || aeron_context_set_dir(context, aeron_dir) < 0)
    {
        fprintf(stderr, "aeron context: %s\n", aeron_errmsg());
        exit(2);
    }
    if (aeron_init(&aeron, context) < 0 || aeron_start(aeron) < 0)
    {
        fprintf(stderr, "aeron_init/start (%s): %s\n", aeron_dir, aeron_errmsg());
        exit(2);
    }
    return aeron;
}

/* Adds a publication and waits for it; exits 2 (an Aeron error) naming the channel on failure. */
static inline aeron_publication_t *interop_add_publication(aeron_t *aeron, const char *channel, int32_t stream_id)
{
    aeron_async_add_publication_t *async = NULL;
    aeron_publication_t *publication = NULL;
    if (aeron_async_add_publication(&async, aeron, channel, stream_id) < 0)
    {
        fprintf(stderr, "add publication %s: %s\n", channel, aeron_errmsg());
        exit(2);
    }
    while (NULL == publication)
    {
        if (aeron_async_add_publication_poll(&publication, async) < 0)
        {
            fprintf(stderr, "add publication %s: %s\n", channel, aeron_errmsg());
            exit(2);
        }
        sched_yield();
    }
    return publication;
}

/* Adds a subscription (with an optional unavailable-image handler) and waits for it; exits 2 on failure. */
static inline aeron_subscription_t *interop_add_subscription(aeron_t *aeron, const char *channel, int32_t stream_id,
    aeron_on_unavailable_image_t on_unavailable, void *unavailable_clientd)
{
    aeron_async_add_subscription_t *async = NULL;
    aeron_subscription_t *subscription = NULL;
    if (aeron_async_add_subscription(&async, aeron, channel, stream_id, NULL, NULL, on_unavailable, unavailable_clientd) < 0)
    {
        fprintf(stderr, "add subscription %s: %s\n", channel, aeron_errmsg());
        exit(2);
    }
    while (NULL == subscription)
    {
        if (aeron_async_add_subscription_poll(&subscription, async) < 0)
        {
            fprintf(stderr, "add subscription %s: %s\n", channel, aeron_errmsg());
            exit(2);
        }
        sched_yield();
    }
    return subscription;
}

/* A fragment assembler around `handler`; exits 2 on failure. */
static inline aeron_fragment_assembler_t *interop_assembler(aeron_fragment_handler_t handler, void *clientd)
{
    aeron_fragment_assembler_t *assembler = NULL;
    if (aeron_fragment_assembler_create(&assembler, handler, clientd) < 0)
    {
        fprintf(stderr, "fragment assembler: %s\n", aeron_errmsg());
        exit(2);
    }
    return assembler;
}

#endif
