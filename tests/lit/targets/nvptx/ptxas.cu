// REQUIRES: ptxas-sm_90
// RUN: xpuc compile %S/../../../../examples/saxpy.cu --target nvptx:sm_90 -o %t.ptx
// RUN: %ptxas -arch=sm_90 %t.ptx -o %t.cubin
// RUN: xpuc compile %S/../../../../examples/saxpy.cu --target nvptx:sm_90 -o %t2.cubin
// RUN: %python -c "import sys; d=open(sys.argv[1],'rb').read(); assert d[:4]==b'\x7fELF', d[:4]" %t2.cubin
