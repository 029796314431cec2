// RUN: not xpuc compile %s 2>&1 | filecheck %s -DFILE=%s

__global__ void k(float *a, int n) {
    int i = threadIdx.x
    a[i] = 1.0f;
}

// CHECK: [[FILE]]:4:24: error: expected ';' before 'a'
// CHECK-NEXT: int i = threadIdx.x
// CHECK-NEXT: {{^  [ ]+\^$}}
// CHECK-NOT: Traceback
