"""LLVM code generation shared by every LLVM-backed target (through llvmlite)."""
