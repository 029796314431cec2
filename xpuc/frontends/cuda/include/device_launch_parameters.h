/* xpuc stand-in for <device_launch_parameters.h>: nothing device code needs. */
#pragma once
