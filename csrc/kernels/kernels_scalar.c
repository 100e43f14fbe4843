/* The softmax-family kernels compiled for scalar; see CMakeLists.txt for the
 * flags this one file gets. */
#include "isa/vec_scalar.h"
#include "isa/vec_extra_scalar.h"
#include "instantiate.h"
#include "sigmoid_instantiate.h"
#include "backward_instantiate.h"
