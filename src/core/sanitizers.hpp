#pragma once
// Happens-before annotations for ThreadSanitizer. oneTBB's library is not instrumented, so the
// hand-offs it performs (spawning a task, resuming a suspended one) are invisible to TSan;
// weft marks its own hand-offs explicitly. Outside TSan builds these compile to nothing.

#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif

#ifdef WEFT_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define WEFT_HAPPENS_BEFORE(addr) __tsan_release(static_cast<void*>(addr))
#define WEFT_HAPPENS_AFTER(addr) __tsan_acquire(static_cast<void*>(addr))
#else
#define WEFT_HAPPENS_BEFORE(addr) ((void)0)
#define WEFT_HAPPENS_AFTER(addr) ((void)0)
#endif
