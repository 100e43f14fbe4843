/* The softmax-family kernels compiled for avx512; see CMakeLists.txt for the
 * flags this one file gets. */
#include "isa/vec_avx512.h"
#include "isa/vec_extra_avx512.h"
#include "instantiate.h"
#include "sigmoid_instantiate.h"
#include "backward_instantiate.h"
