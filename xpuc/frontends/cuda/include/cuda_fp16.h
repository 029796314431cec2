/* xpuc stand-in for <cuda_fp16.h>: nothing device code needs. */
#pragma once
