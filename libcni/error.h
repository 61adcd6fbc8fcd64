#include "libcni/sys/error.h"  // IWYU pragma: export; cni::Error lives in the bottom layer
