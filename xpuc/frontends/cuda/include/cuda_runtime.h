/* xpuc stand-in for <cuda_runtime.h>: device built-ins are known to the frontend,
   host API declarations are not needed because host code is skipped. */
#pragma once
#define __CUDACC__ 1
#define __NVCC__ 1
#ifndef NULL
#define NULL 0
#endif
