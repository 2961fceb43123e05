#pragma once

/// Forward declarations of the nats.c handles that broker headers mention by
/// pointer, so that code outside runtime/broker never includes nats.h. The
/// typedefs repeat nats.h's exactly; C++ allows the redeclaration.
extern "C" {
typedef struct __natsConnection natsConnection;
typedef struct __natsSubscription natsSubscription;
typedef struct __natsMsg natsMsg;
typedef struct __jsCtx jsCtx;
typedef struct __kvStore kvStore;
typedef struct __kvWatcher kvWatcher;
}
