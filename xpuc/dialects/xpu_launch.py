"""``xpu`` ops for calling kernels from a multi-card program.

A multi-card program is value-semantic: it works on tensors, so that sharding
propagation and partitioning can see what each op reads and produces.  Upstream's
``gpu.launch_func`` launches a kernel on memrefs, by side effect, which those passes
cannot reason about; ``xpu.launch`` is the same launch over tensors, in
destination-passing style: the tensors a kernel writes through come back as results.
"""

from __future__ import annotations

from xdsl.dialects import gpu
from xdsl.dialects.builtin import (
    I64,
    DenseArrayBase,
    IndexType,
    IntegerAttr,
    MemRefType,
    SymbolRefAttr,
    TensorType,
    i64,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    result_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import SymbolTable
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class LaunchOp(IRDLOperation):
    """Launch a kernel of a ``gpu.module`` in this module on tensors.

    ``args`` are the kernel's parameters in order: a tensor for each pointer
    (``memref``) parameter, with the same element type, passed as its row-major
    elements; a scalar of the parameter's type for the others.  ``writes`` lists the
    arguments the kernel writes through; each comes back as a result (the tensor after
    the launch), and the operand itself is unchanged.  ``dynamic_shared`` is the
    bytes of dynamic shared memory (``extern __shared__``), as ``<<<g, b, bytes>>>``.

    In a multi-card program the launch runs on every device, on that device's shards
    (as ``shard_map`` does): a tensor argument is laid out as the ``shard.shard ...
    annotate_for_users`` that produces it says, and replicated when nothing says so.
    ``xpu.local_dim`` gives the sizes a launch configuration needs.
    """

    name = "xpu.launch"

    kernel = prop_def(SymbolRefAttr)
    gx = operand_def(IndexType)
    gy = operand_def(IndexType)
    gz = operand_def(IndexType)
    bx = operand_def(IndexType)
    by = operand_def(IndexType)
    bz = operand_def(IndexType)
    shared = opt_operand_def(IndexType)
    args = var_operand_def()
    writes = prop_def(DenseArrayBase[I64])
    res = var_result_def(TensorType)

    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    assembly_format = (
        "$kernel `blocks` `(` $gx `,` $gy `,` $gz `)` `threads` `(` $bx `,` $by `,` $bz `)` "
        "(`dynamic_shared` `(` $shared^ `)`)? "
        "`args` `(` $args `:` type($args) `)` `writes` $writes attr-dict `:` type($res)"
    )

    def __init__(self, kernel: SymbolRefAttr, grid, block, args, writes: list[int], shared=None):
        types = [args[i].type for i in writes]
        super().__init__(
            operands=[*grid, *block, [shared] if shared is not None else [], args],
            properties={"kernel": kernel, "writes": DenseArrayBase.from_list(i64, writes)},
            result_types=[types],
        )

    def grid(self):
        return (self.gx, self.gy, self.gz)

    def block(self):
        return (self.bx, self.by, self.bz)

    def symbol(self) -> str:
        """The kernel's own name (the leaf of ``@module::@kernel``)."""
        nested = self.kernel.nested_references.data
        return (nested[-1] if nested else self.kernel.root_reference).data

    def written(self) -> tuple[int, ...]:
        return tuple(self.writes.get_values())

    def kernel_op(self) -> gpu.FuncOp | None:
        found = SymbolTable.lookup_symbol(self, self.kernel)
        return found if isinstance(found, gpu.FuncOp) else None

    def verify_(self) -> None:
        where = f"'xpu.launch' of {self.kernel}"
        writes = self.written()
        if len(set(writes)) != len(writes) or any(not 0 <= i < len(self.args) for i in writes):
            raise VerifyException(f"{where}: writes {list(writes)} must name distinct arguments")
        if len(writes) != len(self.res):
            raise VerifyException(
                f"{where}: {len(writes)} written arguments, {len(self.res)} results"
            )
        for i, r in zip(writes, self.res, strict=True):
            if not isinstance(self.args[i].type, TensorType) or self.args[i].type != r.type:
                raise VerifyException(
                    f"{where}: the result for argument {i} must have its type {self.args[i].type}"
                )
        if self.parent is None:
            return
        k = self.kernel_op()
        if k is None:
            raise VerifyException(f"{where}: no gpu.func kernel of that name in this module")
        params = k.function_type.inputs.data
        if len(params) != len(self.args):
            raise VerifyException(
                f"{where}: the kernel takes {len(params)} arguments, {len(self.args)} given"
            )
        for i, (p, a) in enumerate(zip(params, self.args, strict=True)):
            t = a.type
            if isinstance(p, MemRefType):
                ok = isinstance(t, TensorType) and t.element_type == p.element_type
            else:
                ok = t == p
            if not ok:
                raise VerifyException(f"{where}: argument {i} is {t}; the kernel takes {p}")


@irdl_op_definition
class LocalDimOp(IRDLOperation):
    """The size of dimension ``dim`` of the shard of ``source`` on this device.

    Before ``shard-partition`` it is the tensor's size (what ``tensor.dim`` gives); the
    partition pass replaces it with the local size of the layout ``source`` has
    there.  Upstream's ``shard.shard_shape`` computes a shard's shape from a sharding
    and a device index; with xpuc's even splits the size is the same on every device,
    so one static dimension, folded at partition, is all a launch needs.
    """

    name = "xpu.local_dim"

    source = operand_def(TensorType)
    dim = prop_def(IntegerAttr[IndexType])
    result = result_def(IndexType)

    assembly_format = "$source `[` $dim `]` attr-dict `:` type($source)"

    def __init__(self, source, dim: int):
        super().__init__(
            operands=[source],
            properties={"dim": IntegerAttr(dim, IndexType())},
            result_types=[IndexType()],
        )

    def verify_(self) -> None:
        rank = len(self.source.type.get_shape())  # type: ignore[attr-defined]
        if not 0 <= self.dim.value.data < rank:
            raise VerifyException(
                f"'xpu.local_dim' dimension {self.dim.value.data} is out of range for rank {rank}"
            )


XPU_LAUNCH_OPS = [LaunchOp, LocalDimOp]
