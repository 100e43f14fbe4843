/* The softmax-family kernels compiled for neon; see CMakeLists.txt for the
 * flags this one file gets. */
#include "isa/vec_neon.h"
#include "isa/vec_extra_neon.h"
#include "instantiate.h"
#include "sigmoid_instantiate.h"
#include "backward_instantiate.h"
