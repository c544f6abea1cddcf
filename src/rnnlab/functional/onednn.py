"""The per-step products of the LSTM's compiled loops with the weights packed once:
oneDNN's matmul primitive (the library PyTorch's LSTM runs on the CPU), called through
ctypes from the wheel ``onednn-cpu-gomp`` (``rnnlab[fast]``, Linux x86-64).

NumPy's BLAS packs both operands of every product it computes. A time loop multiplies
the same weights W (K, J) by a few rows (N = 1-64) T times, so here W is reordered ONCE
per loop into the layout that oneDNN's kernel for the shape (N, K) x (K, J) reads
(``format_tag_any``), and each step runs the kernel alone:

    out (N, J) = v (N, K) W        (v and out C-contiguous float32; W any strides)

Measured on 2 cores of an AMD EPYC with AVX-512, float32, per step, against OpenBLAS
0.3.31 (``docs/performance.md``): (N, H) = (16, 1024): 300 us against 1,234;
(64, 512): 278 against 484; (32, 128): 12 against 19.

oneDNN's CPU matmul has no float64, and the library may be absent or fail to load (it
needs the system's libgomp): ``available()`` says whether it runs, and the caller keeps
NumPy's matmul for everything this module does not serve.

One thread pool: once oneDNN computes in a process, NumPy's OpenBLAS is set to one
thread (where it can be found) for the rest of the process. Two pools on the same cores
take turns spinning against each other: the default language model's update took 140
ms with both on two threads, 76 ms so (the LSTM's GEMMs run on oneDNN's two threads;
the dense layer's on OpenBLAS's one), against 102 ms on the "numba" path.
``RNNLAB_BACKEND=numba`` keeps NumPy's threads.

Tests: tests/test_lstm_compiled.py (the product equals NumPy's; the loops and the
stepper on this path equal the NumPy reference).
"""
import ctypes
import functools
import importlib.metadata
import os
import threading
import warnings
import weakref

import numpy as np

DISTRIBUTION = "onednn-cpu-gomp"
# Below this many multiply-adds (M K J) NumPy's BLAS is faster than oneDNN called through
# ctypes (measured here: (1, 256, 1024) 13.6 against 17.2 us; (1, 512, 2048) 36 against
# 32; (4, 256, 1024) 48 against 18): callers keep smaller products on NumPy
SMALLEST_PRODUCT = 1 << 20
ENGINE_CPU, STREAM_IN_ORDER, FLOAT32, FORMAT_ANY = 1, 1, 3, 1
QUERY_WEIGHTS_MD, QUERY_SCRATCHPAD_MD, SCRATCHPAD_USER = 131, 136, 1
# a reorder's "from" and "to" are SRC and DST
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_SCRATCHPAD = 1, 17, 33, 80
Dims = ctypes.c_int64 * 12  # dnnl_dims_t
Handle = ctypes.c_void_p


class _Arg(ctypes.Structure):  # dnnl_exec_arg_t
    _fields_ = [("arg", ctypes.c_int), ("memory", Handle)]


class OneDNNError(RuntimeError):
    """A oneDNN call that failed, with the call and its status."""


def _ok(status, call):
    if status:
        raise OneDNNError(f"oneDNN: {call} failed with status {status}")


def _library_path():
    """The libdnnl.so.* the wheel installed (it lies outside site-packages, in the
    environment's lib/)."""
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    for file in distribution.files or ():
        if file.name.startswith("libdnnl.so"):
            path = os.path.normpath(distribution.locate_file(file))
            if os.path.exists(path):
                return path
    raise OSError(f"{DISTRIBUTION} is installed but holds no libdnnl.so")


OPENBLAS_THREAD_SETTERS = ("openblas_set_num_threads", "openblas_set_num_threads64_",
                           "scipy_openblas_set_num_threads", "scipy_openblas_set_num_threads64_")


def numpy_blas_on_one_thread():
    """Set the OpenBLAS this process has loaded (NumPy's) to one thread -> whether one
    was found (another BLAS, or no /proc, is left as it is)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return False
    for path in sorted(p for p in paths if os.path.isabs(p)):
        library = ctypes.CDLL(path)
        for name in OPENBLAS_THREAD_SETTERS:
            if hasattr(library, name):
                getattr(library, name)(1)
                return True
    return False


# One oneDNN call at a time in a process, held around every call into oneDNN and around
# the compiled loops that call it: two threads running LSTMs at once, each on a stream
# of its own, once gave wrong rows in a CI run (most likely the primitives' scratch memory,
# which oneDNN shares between threads by default); each call already uses every core.
lock = threading.RLock()


@functools.lru_cache(maxsize=None)
def _runtime():
    """-> (library, engine, stream), loaded once; OSError or OneDNNError if it cannot."""
    library = ctypes.CDLL(_library_path())
    library.dnnl_primitive_desc_query_md.restype = Handle
    library.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
    size, pointer = ctypes.c_int64, ctypes.c_void_p
    library.dnnl_sgemm.argtypes = [ctypes.c_char, ctypes.c_char, size, size, size, ctypes.c_float,
                                   pointer, size, pointer, size, ctypes.c_float, pointer, size]
    engine = _created(library.dnnl_engine_create, ENGINE_CPU, ctypes.c_size_t(0), call="engine_create")
    stream = _created(library.dnnl_stream_create, engine, ctypes.c_uint(STREAM_IN_ORDER),
                      call="stream_create")
    return library, engine, stream


_cores_taken = False  # whether oneDNN has computed here (NumPy's OpenBLAS then has one thread)


def _computing():
    """-> ``_runtime()``; the first time, NumPy's OpenBLAS is set to one thread (oneDNN's
    threads take the cores from here on)."""
    global _cores_taken
    if not _cores_taken:
        numpy_blas_on_one_thread()
        _cores_taken = True
    return _runtime()


def holds_the_cores():
    """Whether oneDNN has computed in this process, so that NumPy's OpenBLAS runs one
    thread and the other layers' GEMMs are better run here too."""
    return _cores_taken


@functools.lru_cache(maxsize=None)
def available():
    """Whether the packed products run here: the wheel installed and its library loads
    (one warning when it is installed but does not load)."""
    try:
        importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return False
    try:
        _runtime()
    except (OSError, OneDNNError) as error:
        warnings.warn(f"{DISTRIBUTION} is installed but does not load ({error}); the LSTM's "
                      f"per-step products use NumPy's BLAS", RuntimeWarning, stacklevel=2)
        return False
    return True


def _created(create, *args, call):
    """Call a dnnl_*_create function whose first argument receives the handle -> handle."""
    handle = Handle()
    _ok(create(ctypes.byref(handle), *args), call)
    return handle


@functools.lru_cache(maxsize=None)
def _strided_desc(shape, strides):
    """A float32 memory descriptor of a 2-D array (strides in elements)."""
    library, _, _ = _runtime()
    return _created(library.dnnl_memory_desc_create_with_strides, 2, Dims(*shape), FLOAT32,
                    Dims(*strides), call="memory_desc_create_with_strides")


@functools.lru_cache(maxsize=None)
def _user_scratchpad():
    """Primitive attributes by which each execution gets its scratch memory from the
    caller (so that primitives run at once on different threads share none)."""
    library, _, _ = _runtime()
    attributes = _created(library.dnnl_primitive_attr_create, call="primitive_attr_create")
    _ok(library.dnnl_primitive_attr_set_scratchpad_mode(attributes, SCRATCHPAD_USER),
        "primitive_attr_set_scratchpad_mode")
    return attributes


@functools.lru_cache(maxsize=None)
def _matmul(N, K, J):
    """-> (primitive, weights descriptor, scratchpad descriptor): oneDNN's float32 matmul
    (N, K) x (K, J) with the weights in the layout it chooses and the scratch memory the
    caller's; kept for the process (shapes are few)."""
    library, engine, _ = _runtime()
    weights_any = _created(library.dnnl_memory_desc_create_with_tag, 2, Dims(K, J), FLOAT32,
                           FORMAT_ANY, call="memory_desc_create_with_tag")
    descriptor = _created(library.dnnl_matmul_primitive_desc_create, engine,
                          _strided_desc((N, K), (K, 1)), weights_any, None,
                          _strided_desc((N, J), (J, 1)), _user_scratchpad(),
                          call="matmul_primitive_desc_create")
    weights, scratchpad = (Handle(library.dnnl_primitive_desc_query_md(descriptor, query, 0))
                           for query in (QUERY_WEIGHTS_MD, QUERY_SCRATCHPAD_MD))
    primitive = _created(library.dnnl_primitive_create, descriptor, call="primitive_create")
    return primitive, weights, scratchpad


@functools.lru_cache(maxsize=None)
def _reorder(N, shape, strides):
    """The primitive that copies a (K, J) array of these strides into the packed layout
    of ``_matmul(N, K, J)``."""
    library, engine, _ = _runtime()
    _, weights, _ = _matmul(N, *shape)
    descriptor = _created(library.dnnl_reorder_primitive_desc_create, _strided_desc(shape, strides),
                          engine, weights, engine, None, call="reorder_primitive_desc_create")
    return _created(library.dnnl_primitive_create, descriptor, call="primitive_create")


@functools.lru_cache(maxsize=None)
def _block_reorder(N, K, J, block, at, strides):
    """-> (primitive, source descriptor, target descriptor) that copies a block (rows,
    columns) of these strides into the rows and columns from ``at`` of the packed layout of
    ``_matmul(N, K, J)``: a primitive with no scratch memory, which threads may run at once;
    None where that layout cannot take the block there (an edge of the block inside one of
    the layout's own blocks) or the copy would need scratch memory."""
    library, engine, _ = _runtime()
    _, weights, _ = _matmul(N, K, J)
    target = Handle()
    if library.dnnl_memory_desc_create_submemory(ctypes.byref(target), weights, Dims(*block), Dims(*at)):
        return None
    source, descriptor = _strided_desc(block, strides), Handle()
    if library.dnnl_reorder_primitive_desc_create(ctypes.byref(descriptor), source, engine, target,
                                                  engine, _user_scratchpad()):
        return None
    scratchpad = Handle(library.dnnl_primitive_desc_query_md(descriptor, QUERY_SCRATCHPAD_MD, 0))
    if library.dnnl_memory_desc_get_size(scratchpad):
        return None
    return _created(library.dnnl_primitive_create, descriptor, call="primitive_create"), source, target


def _memory(descriptor, array=None):
    library, engine, _ = _runtime()
    pointer = None if array is None else Handle(array.ctypes.data)
    return _created(library.dnnl_memory_create, descriptor, engine, pointer, call="memory_create")


def _execute(primitive, *args):
    library, _, stream = _runtime()
    with lock:
        _ok(library.dnnl_primitive_execute(primitive, stream, len(args), (_Arg * len(args))(*args)),
            "primitive_execute")
        _ok(library.dnnl_stream_wait(stream), "stream_wait")


def _destroy(memories):
    library, _, _ = _runtime()
    for memory in memories:
        library.dnnl_memory_destroy(memory)


def element_strides(a):
    """The strides of a 2-D array in elements, or None when oneDNN cannot read it as it is
    (a stride that is negative or not a whole number of elements)."""
    if any(stride < 0 or stride % a.itemsize for stride in a.strides):
        return None
    return tuple(stride // a.itemsize for stride in a.strides)


def _operand(a):
    """A 2-D float32 operand of a row-major GEMM -> (b'N' or b'T', leading dimension), or
    None when sgemm cannot read it as it is (no dimension of unit stride, rows that
    overlap, negative strides)."""
    strides, (M, K) = element_strides(a), a.shape
    if strides is None:
        return None
    rows, columns = strides
    if (columns == 1 or K == 1) and (rows >= K or M == 1):
        return b"N", max(rows, K, 1)
    if (rows == 1 or M == 1) and (columns >= M or K == 1):
        return b"T", max(columns, M, 1)
    return None


def matmul(a, b):
    """a (M, K) @ b (K, J) -> a new (M, J) float32 array, by oneDNN's sgemm on the same
    threads as the packed products (so that two thread pools do not take turns spinning
    against each other inside one layer); NumPy's matmul for operands sgemm cannot read
    as they are. A C-contiguous a times the transposed view of a C-contiguous array (the
    input gradient da Wx^T) runs oneDNN's matmul primitive instead, which reads such a b
    at the full rate where sgemm's transposed path does not (measured here: (6400, 2048)
    x (2048, 256) 15 against 20 ms; (800, 4096) x (4096, 1024) 15 against 20)."""
    A, B = _operand(a), _operand(b)
    if A is None or B is None or 0 in a.shape or b.shape[1] == 0:
        return np.matmul(a, b)
    (M, K), J = a.shape, b.shape[1]
    out = np.empty((M, J), np.float32)
    library, _, _ = _computing()
    if a.flags.c_contiguous and b.T.flags.c_contiguous and not b.flags.c_contiguous:
        return _transposed_weights_product(a, b, out)
    with lock:
        _ok(library.dnnl_sgemm(A[0], B[0], M, J, K, 1.0, a.ctypes.data, A[1], b.ctypes.data,
                               B[1], 0.0, out.ctypes.data, J), "sgemm")
    return out


@functools.lru_cache(maxsize=None)
def _transposed_matmul(M, K, J):
    """-> (primitive, descriptors of a, b, out): oneDNN's matmul of a (M, K) row-major by
    b (K, J) stored column-major (the transpose of a C-contiguous (J, K) array), as they lie."""
    library, engine, _ = _runtime()
    descriptors = _strided_desc((M, K), (K, 1)), _strided_desc((K, J), (1, K)), _strided_desc((M, J), (J, 1))
    descriptor = _created(library.dnnl_matmul_primitive_desc_create, engine, descriptors[0],
                          descriptors[1], None, descriptors[2], None,
                          call="matmul_primitive_desc_create")
    return _created(library.dnnl_primitive_create, descriptor, call="primitive_create"), descriptors


def _transposed_weights_product(a, b, out):
    """out = a b by ``_transposed_matmul``, on memories made for this call."""
    primitive, descriptors = _transposed_matmul(a.shape[0], a.shape[1], b.shape[1])
    memories = [_memory(d, array) for d, array in zip(descriptors, (a, b, out))]
    try:
        _execute(primitive, *(_Arg(arg, m) for arg, m in zip((ARG_SRC, ARG_WEIGHTS, ARG_DST), memories)))
    finally:
        _destroy(memories)
    return out


@functools.lru_cache(maxsize=None)
def stream(k):
    """The k-th extra stream (0, 1, ...): one for each product that runs at the same time
    as others, on a thread of its own (``lstm_team.RowSplit``)."""
    library, engine, _ = _runtime()
    return _created(library.dnnl_stream_create, engine, ctypes.c_uint(STREAM_IN_ORDER), call="stream_create")


def _float32_buffer(library, descriptor):
    return np.empty(-(-library.dnnl_memory_desc_get_size(descriptor) // 4), np.float32)


class PackedProduct:
    """``product(v, out)`` -> out = v W for v (N, K) (made C-contiguous float32 here) and
    out (N, J), C-contiguous float32; W (K, J) float32 (``element_strides`` not None) is
    packed when this is made (later changes to W are not seen), or by ``packed_later``'s
    table. Its scratch memory is its own, so products run at once on different threads
    (each on a stream of its own: ``on_stream``, ``stream(k)``; the shared one unless
    given) share none. ``packing``: int64 [address of dnnl_primitive_execute, stream,
    number of copies, then each copy's primitive and args]: the copies that pack the
    weights still to be packed (none here)."""

    def __init__(self, W, N, on_stream=None):
        packed = self._product(W.shape, N, on_stream)
        source = W.shape, element_strides(W)
        plain = _memory(_strided_desc(*source), W)
        _execute(_reorder(N, *source), _Arg(ARG_SRC, plain), _Arg(ARG_DST, packed))
        _destroy((plain,))
        self.packing = self._copies([])

    @classmethod
    def packed_later(cls, blocks, shape, N, k):
        """-> the product of weights (K, J) = ``shape`` for N rows, on ``stream(k)``, whose
        weights are not packed yet: compiled code packs them from ``blocks``, [(array,
        (row, column))] that tile (K, J), by running ``packing`` (``lstm_steps.run_packing``)
        on the thread that runs the product, under ``lock``, before its first product; the
        arrays are read then (kept alive with the product). None where the packed layout
        cannot take a block where it goes."""
        strides = [element_strides(block) for block, _ in blocks]
        reorders = [None if s is None else _block_reorder(N, *shape, block.shape, at, s)
                    for (block, at), s in zip(blocks, strides)]
        if None in reorders:
            return None
        product = cls.__new__(cls)
        product._product(shape, N, stream(k))
        copies = []
        for (block, _), (primitive, source, target) in zip(blocks, reorders):
            plain, part = _memory(source, block), _memory(target, product._packed)
            product._memories += [plain, part]
            copies.append((primitive, (_Arg * 2)(_Arg(ARG_SRC, plain), _Arg(ARG_DST, part))))
        product._blocks = blocks
        product.packing = product._copies(copies)
        return product

    def _product(self, shape, N, on_stream):
        """Make the matmul's memories, buffers and arguments -> the packed weights' memory."""
        library, _, shared_stream = _computing()
        K, J = shape
        self._primitive, weights, scratchpad = _matmul(N, K, J)
        self._packed = _float32_buffer(library, weights)
        self._scratchpad = _float32_buffer(library, scratchpad)
        packed = _memory(weights, self._packed)
        self._v = _memory(_strided_desc((N, K), (K, 1)))
        self._out = _memory(_strided_desc((N, J), (J, 1)))
        self._memories = [packed, self._v, self._out]
        args = [_Arg(ARG_SRC, self._v), _Arg(ARG_WEIGHTS, packed), _Arg(ARG_DST, self._out)]
        if self._scratchpad.size:
            self._memories.append(_memory(scratchpad, self._scratchpad))
            args.append(_Arg(ARG_SCRATCHPAD, self._memories[-1]))
        weakref.finalize(self, _destroy, self._memories)  # the list, with what is added later
        self._args = (_Arg * len(args))(*args)
        self._pointers = [None, None]  # the data handles of v and out now
        self._set_handle, self._run = library.dnnl_memory_set_data_handle, library.dnnl_primitive_execute
        self._stream = shared_stream if on_stream is None else on_stream
        return packed

    def _copies(self, copies):
        """-> the ``packing`` table of these (primitive, args) copies (args kept alive here)."""
        self._copy_args = [args for _, args in copies]
        return np.array([_address(self._run), self._stream.value, len(copies),
                         *(value for primitive, args in copies
                           for value in (primitive.value, ctypes.addressof(args)))], np.int64)

    def _bind(self, k, array):
        pointer = array.ctypes.data
        if pointer != self._pointers[k]:
            _ok(self._set_handle((self._v, self._out)[k], Handle(pointer)), "memory_set_data_handle")
            self._pointers[k] = pointer

    def __call__(self, v, out):
        v = np.ascontiguousarray(v, np.float32)
        with lock:
            self._bind(0, v)
            self._bind(1, out)
            _ok(self._run(self._primitive, self._stream, len(self._args), self._args), "primitive_execute")
        return out

    def call_table(self, out):
        """``out`` bound for good -> int64 [address of dnnl_memory_set_data_handle, of
        dnnl_primitive_execute, primitive, stream, args, v's memory, number of args]: what
        compiled code needs to run the product for a v of its own each step
        (``lstm_steps.run_packed``, under ``lock``)."""
        self._bind(1, out)
        self._pointers[0] = None  # compiled code sets v's handle behind our back
        return np.array([_address(self._set_handle), _address(self._run), self._primitive.value,
                         self._stream.value, ctypes.addressof(self._args), self._v.value,
                         len(self._args)], np.int64)


def _address(function):
    return ctypes.cast(function, Handle).value


# the fields of ``team()``
PARALLEL, THREAD_NUM, NUM_THREADS, MAX_THREADS, BARRIER = range(5)


@functools.lru_cache(maxsize=None)
def team():
    """-> int64 [address of GOMP_parallel, of omp_get_thread_num, of omp_get_num_threads,
    of omp_get_max_threads, of GOMP_barrier] (fields PARALLEL .. BARRIER) of the OpenMP
    runtime oneDNN runs on (the libgomp its library loaded), for compiled code that splits
    its loops over oneDNN's own threads (``lstm_team``); None where that runtime cannot be
    found."""
    _runtime()
    try:
        gomp = ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        functions = (gomp.GOMP_parallel, gomp.omp_get_thread_num, gomp.omp_get_num_threads,
                     gomp.omp_get_max_threads, gomp.GOMP_barrier)
    except (OSError, AttributeError):
        return None
    return np.array([_address(f) for f in functions], np.int64)


@functools.lru_cache(maxsize=None)
def team_size():
    """How many threads oneDNN's parallel regions run (``omp_get_max_threads``, read once)."""
    return ctypes.CFUNCTYPE(ctypes.c_int)(int(team()[MAX_THREADS]))()
