"""Every user-facing error of the CUDA language: located, clear, a typed exception."""

import pytest

import xpuc

# name -> (source, "line:col: error: message")
CASES = {
    "atomic on short": (
        "__global__ void k(short *a) {\n  atomicAdd(a, 1);\n}\n",
        "2:13: error: 'atomicAdd' is not defined for 'short'",
    ),
    "shared initializer": (
        "__global__ void k(float *a) {\n  __shared__ float s = 1.0f;\n}\n",
        "2:24: error: __shared__ variables cannot have an initializer",
    ),
    "extern shared scalar": (
        "__global__ void k(float *a) {\n  extern __shared__ float s;\n}\n",
        "2:27: error: extern __shared__ must be an array of unknown size",
    ),
    "union": ("union U { int a; float b; };\n", "1:1: error: unions are not supported"),
    "duplicate case": (
        "__global__ void k(int *a) {\n  switch (a[0]) { case 1: break; case 1: break; }\n}\n",
        "2:39: error: duplicate case value '1'",
    ),
    "float switch": (
        "__global__ void k(float *a) {\n  switch (a[0]) { default: break; }\n}\n",
        "2:11: error: switch condition has non-integer type 'float'",
    ),
    "no such member": (
        "__global__ void k(float2 *a) {\n  a[0].z = 1;\n}\n",
        "2:8: error: no member named 'z' in 'float2'",
    ),
    "tile size": (
        "__global__ void k(float *a) {\n  auto t = tiled_partition<3>(this_thread_block());\n}\n",
        "2:12: error: tiled_partition size must be a power of two up to 32",
    ),
    "pointer used before assigned": (
        "__global__ void k(float *a) {\n  float *p;\n  a[0] = *p;\n}\n",
        "3:3: error: pointer variable is used before it is assigned",
    ),
    "pointer into two arrays": (
        "__global__ void k(float *a, float *b) {\n  float *p = a;\n  p = b;\n}\n",
        "3:3: error: a pointer variable may only point into one array (not supported yet)",
    ),
    "shuffle arity": (
        "__global__ void k(int *a) {\n  a[0] = __shfl_sync(a[0]);\n}\n",
        "2:10: error: '__shfl_sync' takes 3 or 4 arguments, 1 given",
    ),
    "reference without initializer": (
        "__global__ void k(int *a) {\n  int &r;\n}\n",
        "2:8: error: reference 'r' must be initialized",
    ),
    "template argument not deducible": (
        "template <typename T> __device__ T z() { return 0; }\n"
        "__global__ void k(int *a) {\n  a[0] = z();\n}\n",
        "3:10: error: cannot deduce template argument 'T' of 'z'",
    ),
    "reference to a value": (
        "__device__ void f(int &r) { r = 1; }\n__global__ void k(int *a) {\n  f(3);\n}\n",
        "3:5: error: cannot bind reference parameter of 'f' to a value that is not an object",
    ),
    "kernel called from device code": (
        "__global__ void g() {}\n__global__ void k() {\n  g();\n}\n",
        "3:3: error: 'g' is a __global__ kernel and cannot be called here",
    ),
    "struct arithmetic": (
        "struct P { int x; };\n__global__ void k(P *p) {\n  p[0] = p[0] + p[1];\n}\n",
        "3:10: error: invalid operands to '+' ('P' and 'P')",
    ),
    "array assignment": (
        "__global__ void k(int *a) {\n  int b[2], c[2];\n  b = c;\n}\n",
        "3:3: error: an array is not assignable",
    ),
    "incomplete struct": (
        "__global__ void k(int *a) {\n  struct Q q;\n}\n",
        "2:3: error: incomplete struct type 'Q'",
    ),
    "auto without initializer": (
        "__global__ void k(int *a) {\n  auto x;\n}\n",
        "2:8: error: 'auto' variable 'x' needs an initializer",
    ),
    "case outside switch": (
        "__global__ void k(int *a) {\n  default: a[0] = 1;\n}\n",
        "2:3: error: 'default' label not within a switch statement",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_located_error(name):
    src, expected = CASES[name]
    with pytest.raises(xpuc.CompileError) as info:
        xpuc.compile(src, "cpu")
    assert str(info.value).splitlines()[0] == f"<source>.cu:{expected}"


@pytest.mark.parametrize(
    "kernels, message",
    [
        (["k<float>"], "template argument for 'N' must be a constant"),
        (["nope<1>"], "'nope' is not a template"),
        (["k<1, 2>"], "too many template arguments for 'k'"),
        (["k<"], "cannot read kernel name 'k<'"),
    ],
)
def test_bad_instantiation_requests(kernels, message):
    src = "template <int N> __global__ void k(int *a) { a[0] = N; }\n"
    with pytest.raises(xpuc.CompileError, match=message):
        xpuc.compile(src, "cpu", kernels=kernels)


def test_shuffle_in_a_loop_runs_on_cpu():
    import numpy as np

    src = """
    __global__ void k(int *a) {
        int v = a[threadIdx.x];
        for (int i = 0; i < 4; ++i) v += __shfl_xor_sync(0xffffffff, v, 1);
        a[threadIdx.x] = v;
    }"""
    a = np.arange(64, dtype=np.int32)
    xpuc.load(xpuc.compile(src, "cpu"))["k"][1, 64](a)
    pairs = np.arange(64) + (np.arange(64) ^ 1)
    np.testing.assert_array_equal(a, pairs * 8)
