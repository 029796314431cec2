/* xpuc stand-in for <float.h>. */
#pragma once
#include "_xpuc_limits.h"
