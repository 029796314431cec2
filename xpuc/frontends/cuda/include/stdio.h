/* xpuc stand-in for <stdio.h>: nothing device code needs. */
#pragma once
