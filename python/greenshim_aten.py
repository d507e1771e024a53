"""greenshim_aten - the ATen fallback: PyTorch's matrix products and
convolutions recorded at the operator, for builds whose BLAS and oneDNN no
preload can see (PyPI's CPU wheels link MKL and oneDNN into libtorch_cpu).

Under ``greenshim record`` it turns itself on when ``torch`` is imported
(``sitecustomize`` in python/greenshim_site, which chains to any other
``sitecustomize`` on the path) unless ``GREENSHIM_ATEN=off``; by hand::

    import greenshim_aten
    greenshim_aten.install()          # or install(mode="on")

A ``TorchDispatchMode`` sees every ATen operator of the thread that
installed it (autograd runs a CPU backward on the same thread).  For
``mm``, ``addmm``, ``bmm``, ``baddbmm``, ``convolution`` and
``convolution_backward`` it times the operator with the recorder's clock and
asks the recorder whether native interception recorded anything meanwhile;
only if not does it record the operator, as the records the native path
would have written:

* a matrix product ``out[m,n] = A[m,k] @ B[k,n]`` as the Fortran call
  PyTorch's CPU BLAS path makes (column-major: ``?gemm_(ta, tb, n, m, k, B,
  ldb, A, lda, out, n)``, transposes and leading dimensions from the
  strides); ``bmm`` as one such call per batch entry, the measured time
  split evenly between them;
* a convolution as a oneDNN convolution primitive (forward training;
  backward data and backward weights as two executions: the backward
  operator is run as its two halves, the same computation);

so layers and energy come out as with native interception.  Every such
record carries the ATen mark.  Other dtypes than float32/64 and complex64/128
are not recorded.

``mode="auto"`` (the default) first asks whether native interception sees
this PyTorch: a 16x16 matrix product and a 4x4 convolution run with the
recorder counting, not recording, the calls that reach its BLAS and oneDNN
wrappers; if any does (Debian's torch: dynamic OpenBLAS and oneDNN), nothing
is installed and the fallback costs nothing.  ``mode="on"`` installs it
regardless, still never recording an operator that native interception
recorded.  Cost: a
Python call per ATen operator while installed (docs/stacks.md has the
figure).  Without the recorder every function here is a no-op.
"""

import ctypes
import os
import threading

__all__ = ["install", "uninstall", "installed", "stats", "native_sees_torch"]

_lock = threading.Lock()
_state = {"mode": None, "obj": None, "recorded": 0, "seen_native": 0, "ops": 0}


class _Rec:
    def __init__(self):
        self.ok = False
        try:
            lib = ctypes.CDLL(None)
            self.now = lib.greenshim_now
            self.seen = lib.greenshim_native_seen
            self.gemm = lib.greenshim_aten_gemm
            self.dnnl = lib.greenshim_aten_dnnl
            self.probe_begin = lib.greenshim_probe_begin
            self.probe_end = lib.greenshim_probe_end
        except (OSError, AttributeError):
            return
        u64, i64, c_int = ctypes.c_uint64, ctypes.c_int64, ctypes.c_int
        p64 = ctypes.POINTER(ctypes.c_int64)
        self.now.restype = u64
        self.now.argtypes = []
        self.seen.restype = u64
        self.seen.argtypes = []
        self.gemm.restype = c_int
        self.gemm.argtypes = [c_int, c_int, c_int, i64, i64, i64, i64, i64, i64, u64, u64]
        self.dnnl.restype = c_int
        self.dnnl.argtypes = [c_int, c_int, p64, c_int, p64, c_int, p64, c_int, u64, u64]
        self.probe_begin.restype = None
        self.probe_begin.argtypes = []
        self.probe_end.restype = ctypes.c_uint
        self.probe_end.argtypes = []
        self.p64 = p64
        self.ok = True

    def dims(self, shape):
        n = len(shape)
        arr = (ctypes.c_int64 * max(n, 1))(*[int(x) for x in shape])
        return ctypes.cast(arr, self.p64), n, arr


_rec = None

# enum gs_dnnl_kind / gs_dnnl_prop (include/greenshim/trace.h)
_K_CONV, _K_DECONV = 1, 2
_P_FWD_TRAIN, _P_FWD_INFER, _P_BWD_DATA, _P_BWD_WEIGHTS = 1, 2, 4, 5


def _dtype_code(torch, t):
    return {torch.float32: 0, torch.float64: 1, torch.complex64: 2, torch.complex128: 3}.get(t.dtype)


def _operand(t, rows, cols):
    """(trans, ld) of a 2-D operand as a column-major BLAS sees the row-major
    tensor: 0 ('N') with ld = stride 0 for a row-major layout, 1 ('T') with
    ld = stride 1 for a transposed view; anything else is copied first."""
    s0, s1 = t.stride()
    if s1 == 1 and s0 >= max(1, cols):
        return 0, s0
    if s0 == 1 and s1 >= max(1, rows):
        return 1, s1
    return 0, max(1, cols)


def _record_mm(torch, a, b, t0, t1, nbatch=1):
    code = _dtype_code(torch, a)
    if code is None:
        return False
    m, k = a.shape[-2], a.shape[-1]
    n = b.shape[-1]
    if a.dim() == 3:
        a, b = a[0], b[0]
    tb, ldb = _operand(a, m, k)          # the Fortran call's B is the tensor A
    ta, lda = _operand(b, k, n)          # and its A is the tensor B
    step = (t1 - t0) // max(1, nbatch)
    ok = False
    for i in range(nbatch):
        s0 = t0 + i * step
        s1 = t1 if i == nbatch - 1 else s0 + step
        ok = _rec.gemm(code, ta, tb, n, m, k, lda, ldb, n, s0, s1) == 0 or ok
    return ok


def _conv_weights(weight, groups):
    w = list(weight.shape)
    if groups > 1:                       # oneDNN's grouped layout: g, O/g, I/g, ...
        w = [groups, w[0] // groups] + w[1:]
    return w


def _record_dnnl(kind, prop, src, wei, dst, t0, t1):
    ps, ns, _a = _rec.dims(src)
    pw, nw, _b = _rec.dims(wei)
    pd, nd, _c = _rec.dims(dst)
    return _rec.dnnl(kind, prop, ps, ns, pw, nw, pd, nd, t0, t1) == 0


def _make_mode(torch):
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    mm_ops = {aten.mm.default: (0, 1), aten.addmm.default: (1, 2), aten.bmm.default: (0, 1),
              aten.baddbmm.default: (1, 2)}
    conv = aten.convolution.default
    conv_bwd = aten.convolution_backward.default

    class GreenshimAten(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in mm_ops:
                return _mm(func, args, kwargs, mm_ops[func])
            if func is conv:
                return _conv(func, args, kwargs)
            if func is conv_bwd:
                return _conv_backward(func, args, kwargs)
            return func(*args, **kwargs)

    def _timed(func, args, kwargs):
        s0 = _rec.seen()
        t0 = _rec.now()
        out = func(*args, **kwargs)
        t1 = _rec.now()
        native = _rec.seen() != s0
        return out, t0, t1, native

    def _native_seen():
        _state["seen_native"] += 1

    def _mm(func, args, kwargs, ia):
        out, t0, t1, native = _timed(func, args, kwargs)
        _state["ops"] += 1
        if native:
            _native_seen()
            return out
        a, b = args[ia[0]], args[ia[1]]
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dim() == b.dim() and a.dim() in (2, 3):
            if _record_mm(torch, a, b, t0, t1, a.shape[0] if a.dim() == 3 else 1):
                _state["recorded"] += 1
        return out

    def _conv(func, args, kwargs):
        out, t0, t1, native = _timed(func, args, kwargs)
        _state["ops"] += 1
        if native:
            _native_seen()
            return out
        x, w = args[0], args[1]
        transposed, groups = bool(args[6]), int(args[8])
        if _dtype_code(torch, x) is not None and isinstance(out, torch.Tensor):
            prop = _P_FWD_TRAIN if torch.is_grad_enabled() else _P_FWD_INFER
            if _record_dnnl(_K_DECONV if transposed else _K_CONV, prop, list(x.shape),
                            _conv_weights(w, groups), list(out.shape), t0, t1):
                _state["recorded"] += 1
        return out

    def _conv_backward(func, args, kwargs):
        # (grad_output, input, weight, bias_sizes, stride, padding, dilation,
        #  transposed, output_padding, groups, output_mask): run as oneDNN does,
        # backward data and backward weights (+ bias) apart
        a = list(args)
        mask = list(a[10]) if len(a) > 10 else [True, True, True]
        if kwargs or len(a) != 11 or not (mask[0] and (mask[1] or mask[2])):
            parts = [(mask, None)]
        else:
            parts = [([True, False, False], _P_BWD_DATA), ([False, mask[1], mask[2]], _P_BWD_WEIGHTS)]
        res = [None, None, None]
        go, x, w = a[0], a[1], a[2]
        transposed, groups = bool(a[7]), int(a[9])
        kind = _K_DECONV if transposed else _K_CONV
        for m, prop in parts:
            a[10] = m
            out, t0, t1, native = _timed(func, a, kwargs)
            _state["ops"] += 1
            for i in range(3):
                if m[i]:
                    res[i] = out[i]
            if native:
                _native_seen()
                continue
            if prop is None:
                prop = _P_BWD_DATA if m[0] else _P_BWD_WEIGHTS
            if _dtype_code(torch, x) is not None and \
                    _record_dnnl(kind, prop, list(x.shape), _conv_weights(w, groups), list(go.shape), t0, t1):
                _state["recorded"] += 1
        return tuple(res)

    return GreenshimAten()


def _step_aside():
    obj = _state["obj"]
    if obj is None:
        return
    _state["obj"] = None
    try:
        obj.__exit__(None, None, None)
    except Exception:
        pass


def native_sees_torch():
    """Whether a matrix product or a convolution of this PyTorch reaches the
    recorder's BLAS or oneDNN wrappers (counted, not recorded); None without
    the recorder."""
    global _rec
    if _rec is None:
        _rec = _Rec()
    if not _rec.ok:
        return None
    import torch
    _rec.probe_begin()
    try:
        with torch.no_grad():
            a = torch.ones(16, 16)
            torch.mm(a, a)
            torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3))
    finally:
        hits = _rec.probe_end()
    return hits > 0


def install(mode=None):
    """Observe this thread's ATen operators.  mode: "auto" (default, or
    GREENSHIM_ATEN), "on"; "off" does nothing.  Returns True when installed."""
    global _rec
    mode = mode or os.environ.get("GREENSHIM_ATEN", "auto")
    if mode not in ("auto", "on"):
        return False
    with _lock:
        if _state["obj"] is not None:
            return True
        if _rec is None:
            _rec = _Rec()
        if not _rec.ok:
            return False
        try:
            import torch
            if mode == "auto" and native_sees_torch():
                _state["mode"] = "native"
                return False
            obj = _make_mode(torch)
            obj.__enter__()
        except Exception:
            return False
        _state["obj"] = obj
        _state["mode"] = mode
        return True


def uninstall():
    with _lock:
        _step_aside()


def installed():
    return _state["obj"] is not None


def stats():
    """{"ops": ATen operators timed, "recorded": of them recorded here,
    "seen_native": seen by native interception instead}"""
    return {k: _state[k] for k in ("ops", "recorded", "seen_native")}
