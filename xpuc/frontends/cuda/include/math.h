/* xpuc stand-in for <math.h>. */
#pragma once
#include "_xpuc_math.h"
