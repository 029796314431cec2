// ld.lld links the object into the code object HIP loads (ELF, e_machine EM_AMDGPU = 224,
// a shared object, e_flags naming the chip: gfx942 = 0x4c, gfx90a = 0x3f).
// REQUIRES: ld.lld
// RUN: xpuc compile %S/../../../../examples/saxpy.cu --target amdgpu:gfx942 --emit obj -o %t.o
// RUN: %ld.lld -shared --no-undefined %t.o -o %t.hsaco
// RUN: %python -c "import sys; d=open(sys.argv[1],'rb').read(); assert (d[:4], d[16], d[18], d[48]) == (b'\x7fELF', 3, 224, 0x4c), d[:52]" %t.hsaco
// RUN: xpuc compile %S/../../../../examples/vector_add.cu --target amdgpu:gfx90a --emit bin -o %t.bin
// RUN: %python -c "import sys; from xpuc.targets.amdgpu_lib import check_hsaco; check_hsaco(open(sys.argv[1],'rb').read(), 'gfx90a')" %t.bin
// RUN: %python -c "import sys; d=open(sys.argv[1],'rb').read(); assert b'vector_add.kd' in d" %t.bin
