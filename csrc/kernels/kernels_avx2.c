/* The softmax-family kernels compiled for avx2; see CMakeLists.txt for the
 * flags this one file gets. */
#include "isa/vec_avx2.h"
#include "isa/vec_extra_avx2.h"
#include "instantiate.h"
#include "sigmoid_instantiate.h"
#include "backward_instantiate.h"
