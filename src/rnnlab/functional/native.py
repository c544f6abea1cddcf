"""Calls from compiled code into C functions whose addresses arrive as data (so that
Numba's cache keeps the kernels that make them), and raw pointers read as arrays.

Used by ``lstm_team``'s loops on the onednn path: oneDNN's ``primitive_execute`` each
step, and libgomp's ``GOMP_parallel``, which runs a step's rows on oneDNN's own OpenMP
threads (``onednn.team``).

Tests: tests/test_lstm_compiled.py.
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


def _c_call_codegen(context, builder, signature, args):
    """Call the int32 C function at the address args[0] with args[1:], each passed as a
    64-bit integer (pointers, and C's int and unsigned, travel in 64-bit registers on
    x86-64; a void function's return register is ignored)."""
    word = ir.IntType(64)
    function_type = ir.FunctionType(ir.IntType(32), [word] * (len(args) - 1))
    return builder.call(builder.inttoptr(args[0], function_type.as_pointer()), list(args[1:]))


@intrinsic
def c_call0(typingctx, function):
    """int32 function() at an address."""
    return types.int32(function), _c_call_codegen


@intrinsic
def c_call2(typingctx, function, a, b):
    """int32 function(a, b) at an address."""
    return types.int32(function, a, b), _c_call_codegen


@intrinsic
def c_call4(typingctx, function, a, b, c, d):
    """int32 function(a, b, c, d) at an address."""
    return types.int32(function, a, b, c, d), _c_call_codegen


def _cast_codegen(context, builder, signature, args):
    return builder.inttoptr(args[0], context.get_value_type(signature.return_type))


@intrinsic
def float32_pointer(typingctx, address):
    """An int64 address as a float32 pointer (for ``numba.carray``)."""
    return types.CPointer(types.float32)(types.int64), _cast_codegen


@intrinsic
def int64_pointer(typingctx, pointer):
    """A void pointer, or an int64 address, as an int64 pointer (for ``numba.carray``)."""
    def codegen(context, builder, signature, args):
        target = context.get_value_type(signature.return_type)
        if isinstance(signature.args[0], types.Integer):
            return builder.inttoptr(args[0], target)
        return builder.bitcast(args[0], target)

    return types.CPointer(types.int64)(pointer), codegen
