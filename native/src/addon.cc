// code2lora_native: the one registration file of the addon.
//
// Every function of the Kernels contract (src/native/kernels.ts) plus setNumThreads, getNumThreads,
// info and setIsa (a test hook that switches between the avx512 / avx2 / base kernel builds). Each export checks its arguments before touching memory: array types (Float32Array,
// Int32Array, Uint8Array, null where the contract allows it), dims (positive integers), lengths
// (each array long enough for the dims), index ranges (ids, positions, targets), shape relations
// (H % KV, even D, Tq <= Tk <= Tkv) and overlaps where an in-place call would give wrong results
// (matmul, attention). A failed check throws a JS Error that names the kernel and the problem,
// e.g. "matmul: C has 12 elements, need M*N=16"; nothing here aborts the process. Kernels work on
// the typed arrays' memory in place (napi_get_typedarray_info already applies the view's offset).
#include <malloc.h>
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <exception>
#include <new>
#include <string>

#include "kernels.h"
#include "parallel.h"

namespace {

using c2l::kernels;

struct ArgError {
  std::string message;
};

const char* typed_array_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
  }
  return "TypedArray";
}

/** A view on one typed-array argument. */
struct View {
  void* data = nullptr;
  int64_t length = 0;  // elements
  size_t bytes = 0;
  const char* name = "";
};

class Args {
 public:
  Args(napi_env env, napi_callback_info info, const char* kernel, size_t expected)
    : env_(env), kernel_(kernel) {
    argc_ = kMaxArgs;
    if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr) != napi_ok)
      fail("cannot read arguments");
    if (argc_ < expected)
      fail("expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc_));
  }

  [[noreturn]] void fail(const std::string& what) const { throw ArgError{std::string(kernel_) + ": " + what}; }

  /** A positive integer dimension (at most 2^31 - 1). */
  int64_t dim(size_t i, const char* name) const {
    const double v = number_raw(i, name);
    if (!(v >= 1 && v <= 2147483647.0) || std::floor(v) != v)
      fail(std::string(name) + " must be a positive integer, got " + show(v));
    return static_cast<int64_t>(v);
  }

  /** A finite number. */
  double number(size_t i, const char* name) const {
    const double v = number_raw(i, name);
    if (!std::isfinite(v)) fail(std::string(name) + " must be a finite number, got " + show(v));
    return v;
  }

  bool boolean(size_t i, const char* name) const {
    napi_valuetype t;
    napi_typeof(env_, argv_[i], &t);
    if (t != napi_boolean) fail(std::string(name) + " must be a boolean, got " + describe(i));
    bool b = false;
    napi_get_value_bool(env_, argv_[i], &b);
    return b;
  }

  /** A typed array of the given type with at least `need` elements (need_expr says why), or
   *  nullptr when nullable and the argument is null/undefined. */
  template <class T>
  T* array(size_t i, const char* name, napi_typedarray_type want, int64_t need, const char* need_expr,
    bool nullable = false, View* view = nullptr) const {
    napi_valuetype vt;
    napi_typeof(env_, argv_[i], &vt);
    if (nullable && (vt == napi_null || vt == napi_undefined)) {
      if (view) *view = View{nullptr, 0, 0, name};
      return nullptr;
    }
    bool is_ta = false;
    napi_is_typedarray(env_, argv_[i], &is_ta);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (is_ta) napi_get_typedarray_info(env_, argv_[i], &type, &length, &data, nullptr, nullptr);
    if (!is_ta || type != want)
      fail(std::string(name) + " must be a " + typed_array_name(want) + (nullable ? " or null" : "") +
           ", got " + describe(i));
    if (static_cast<int64_t>(length) < need)
      fail(std::string(name) + " has " + std::to_string(length) + " elements, need " + need_expr + "=" +
           std::to_string(need));
    if (length > 0 && data == nullptr) fail(std::string(name) + " is detached");
    if (view) *view = View{data, static_cast<int64_t>(length), length * sizeof(T), name};
    return static_cast<T*>(data);
  }

  float* f32(size_t i, const char* name, int64_t need, const char* expr, View* view = nullptr) const {
    return array<float>(i, name, napi_float32_array, need, expr, false, view);
  }
  float* f32_or_null(size_t i, const char* name, int64_t need, const char* expr, View* view = nullptr) const {
    return array<float>(i, name, napi_float32_array, need, expr, true, view);
  }
  int32_t* i32(size_t i, const char* name, int64_t need, const char* expr) const {
    return array<int32_t>(i, name, napi_int32_array, need, expr);
  }
  uint8_t* u8_or_null(size_t i, const char* name, int64_t need, const char* expr) const {
    return array<uint8_t>(i, name, napi_uint8_array, need, expr, true);
  }

  /** a * b with an overflow check (the sizes here are element counts). */
  int64_t mul(std::initializer_list<int64_t> xs) const {
    int64_t r = 1;
    for (int64_t x : xs)
      if (__builtin_mul_overflow(r, x, &r) || r > (int64_t{1} << 50)) fail("dimensions too large");
    return r;
  }

  /** Throws when two views share memory (an output aliasing an input of a non-elementwise kernel). */
  void disjoint(const View& a, const View& b) const {
    if (!a.data || !b.data || a.bytes == 0 || b.bytes == 0) return;
    const auto pa = reinterpret_cast<uintptr_t>(a.data), pb = reinterpret_cast<uintptr_t>(b.data);
    if (pa < pb + b.bytes && pb < pa + a.bytes)
      fail(std::string(a.name) + " and " + b.name + " overlap in memory; pass separate arrays");
  }

  napi_env env() const { return env_; }
  napi_value raw(size_t i) const { return argv_[i]; }

 private:
  static constexpr size_t kMaxArgs = 16;

  double number_raw(size_t i, const char* name) const {
    napi_valuetype t;
    napi_typeof(env_, argv_[i], &t);
    if (t != napi_number) fail(std::string(name) + " must be a number, got " + describe(i));
    double v = 0;
    napi_get_value_double(env_, argv_[i], &v);
    return v;
  }

  static std::string show(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }

  std::string describe(size_t i) const {
    bool is_ta = false;
    napi_is_typedarray(env_, argv_[i], &is_ta);
    if (is_ta) {
      napi_typedarray_type type;
      size_t length = 0;
      napi_get_typedarray_info(env_, argv_[i], &type, &length, nullptr, nullptr, nullptr);
      return std::string(typed_array_name(type)) + "(" + std::to_string(length) + ")";
    }
    bool is_array = false;
    napi_is_array(env_, argv_[i], &is_array);
    if (is_array) return "Array";
    napi_valuetype t;
    napi_typeof(env_, argv_[i], &t);
    switch (t) {
      case napi_undefined: return "undefined";
      case napi_null: return "null";
      case napi_boolean: return "boolean";
      case napi_number: return "number";
      case napi_string: return "string";
      case napi_symbol: return "symbol";
      case napi_object: return "object";
      case napi_function: return "function";
      case napi_external: return "external";
      case napi_bigint: return "bigint";
    }
    return "value";
  }

  napi_env env_;
  const char* kernel_;
  size_t argc_ = 0;
  napi_value argv_[kMaxArgs];
};

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/** Runs body, turning every C++ exception into a JS Error naming the kernel. */
template <class F>
napi_value guarded(napi_env env, const char* kernel, F&& body) {
  try {
    return body();
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, e.message.c_str());
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, nullptr, (std::string(kernel) + ": out of memory").c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string(kernel) + ": " + e.what()).c_str());
  } catch (...) {
    napi_throw_error(env, nullptr, (std::string(kernel) + ": unknown native error").c_str());
  }
  return nullptr;
}

// Defines the export Name(env, info): parses nargs arguments into `a`, then runs the body.
#define C2L_EXPORT(Name, nargs, ...)                       \
  napi_value Name(napi_env env, napi_callback_info info) { \
    return guarded(env, #Name, [&]() -> napi_value {       \
      Args a(env, info, #Name, nargs);                     \
      __VA_ARGS__                                          \
    });                                                    \
  }

// ---- index checks -------------------------------------------------------------------------------

void check_indices(const Args& a, const char* name, const int32_t* ids, int64_t n, int64_t limit,
  const char* limit_expr, bool allow_negative) {
  for (int64_t i = 0; i < n; i++) {
    const int32_t id = ids[i];
    if (id >= limit || (id < 0 && !allow_negative))
      a.fail(std::string(name) + "[" + std::to_string(i) + "]=" + std::to_string(id) + " is outside [" +
             (allow_negative ? "-1" : "0") + ", " + limit_expr + "=" + std::to_string(limit) + ")");
  }
}

// ---- kernels ------------------------------------------------------------------------------------

C2L_EXPORT(matmul, 10, {
  const int64_t M = a.dim(3, "M"), N = a.dim(4, "N"), K = a.dim(5, "K");
  const bool tA = a.boolean(6, "transA"), tB = a.boolean(7, "transB");
  const double alpha = a.number(8, "alpha"), beta = a.number(9, "beta");
  View vc, va, vb;
  float* C = a.f32(0, "C", a.mul({M, N}), "M*N", &vc);
  const float* A = a.f32(1, "A", a.mul({M, K}), "M*K", &va);
  const float* B = a.f32(2, "B", a.mul({K, N}), "K*N", &vb);
  a.disjoint(vc, va);
  a.disjoint(vc, vb);
  c2l::matmul(C, A, B, M, N, K, tA, tB, static_cast<float>(alpha), static_cast<float>(beta));
  return undefined(env);
})

C2L_EXPORT(rmsnormForward, 7, {
  const int64_t rows = a.dim(4, "rows"), C = a.dim(5, "C");
  const double eps = a.number(6, "eps");
  const int64_t n = a.mul({rows, C});
  float* out = a.f32(0, "out", n, "rows*C");
  float* rstd = a.f32(1, "rstd", rows, "rows");
  const float* x = a.f32(2, "x", n, "rows*C");
  const float* w = a.f32(3, "weight", C, "C");
  kernels().rmsnorm_forward(out, rstd, x, w, rows, C, static_cast<float>(eps));
  return undefined(env);
})

C2L_EXPORT(rmsnormBackward, 8, {
  const int64_t rows = a.dim(6, "rows"), C = a.dim(7, "C");
  const int64_t n = a.mul({rows, C});
  float* dx = a.f32(0, "dx", n, "rows*C");
  float* dw = a.f32_or_null(1, "dweight", C, "C");
  const float* dout = a.f32(2, "dout", n, "rows*C");
  const float* x = a.f32(3, "x", n, "rows*C");
  const float* w = a.f32(4, "weight", C, "C");
  const float* rstd = a.f32(5, "rstd", rows, "rows");
  kernels().rmsnorm_backward(dx, dw, dout, x, w, rstd, rows, C);
  return undefined(env);
})

/** Shared checks of ropeForward / ropeBackward (same argument layout). */
template <bool kBackward>
napi_value rope(napi_env env, napi_callback_info info, const char* kernel) {
  return guarded(env, kernel, [&]() -> napi_value {
    Args a(env, info, kernel, 8);
    const int64_t BT = a.dim(5, "BT"), H = a.dim(6, "H"), D = a.dim(7, "D");
    if (D % 2 != 0) a.fail("D must be even, got " + std::to_string(D));
    const int64_t n = a.mul({BT, H, D}), half = D / 2;
    float* out = a.f32(0, kBackward ? "dx" : "out", n, "BT*H*D");
    const float* x = a.f32(1, kBackward ? "dout" : "x", n, "BT*H*D");
    View vc, vs;
    const float* cos = a.f32(2, "cos", half, "D/2", &vc);
    const float* sin = a.f32(3, "sin", half, "D/2", &vs);
    const int32_t* pos = a.i32(4, "positions", BT, "BT");
    const int64_t maxPos = (vc.length < vs.length ? vc.length : vs.length) / half;
    check_indices(a, "positions", pos, BT, maxPos, "cos.length/(D/2)", false);
    if (kBackward) kernels().rope_backward(out, x, cos, sin, pos, BT, H, D);
    else kernels().rope_forward(out, x, cos, sin, pos, BT, H, D);
    return undefined(env);
  });
}
napi_value ropeForward(napi_env env, napi_callback_info info) { return rope<false>(env, info, "ropeForward"); }
napi_value ropeBackward(napi_env env, napi_callback_info info) { return rope<true>(env, info, "ropeBackward"); }

void check_heads(const Args& a, int64_t H, int64_t KV) {
  if (H % KV != 0)
    a.fail("H=" + std::to_string(H) + " must be a multiple of KV=" + std::to_string(KV));
}

C2L_EXPORT(attentionForward, 14, {
  const int64_t B = a.dim(6, "B"), Tq = a.dim(7, "Tq"), Tk = a.dim(8, "Tk"), Tkv = a.dim(9, "Tkv");
  const int64_t H = a.dim(10, "H"), KV = a.dim(11, "KV"), D = a.dim(12, "D");
  const double scale = a.number(13, "scale");
  check_heads(a, H, KV);
  if (Tq > Tk) a.fail("Tq=" + std::to_string(Tq) + " must not exceed Tk=" + std::to_string(Tk));
  if (Tk > Tkv) a.fail("Tk=" + std::to_string(Tk) + " must not exceed Tkv=" + std::to_string(Tkv));
  const int64_t nq = a.mul({B, Tq, H, D}), nkv = a.mul({B, Tkv, KV, D});
  View vo, vp, vq, vk, vv;
  float* out = a.f32(0, "out", nq, "B*Tq*H*D", &vo);
  float* probs = a.f32_or_null(1, "probs", a.mul({B, H, Tq, Tk}), "B*H*Tq*Tk", &vp);
  const float* q = a.f32(2, "q", nq, "B*Tq*H*D", &vq);
  const float* k = a.f32(3, "k", nkv, "B*Tkv*KV*D", &vk);
  const float* v = a.f32(4, "v", nkv, "B*Tkv*KV*D", &vv);
  const uint8_t* mask = a.u8_or_null(5, "keyMask", a.mul({B, Tk}), "B*Tk");
  for (const View* in : {&vq, &vk, &vv}) {
    a.disjoint(vo, *in);
    a.disjoint(vp, *in);
  }
  a.disjoint(vo, vp);
  kernels().attention_forward(out, probs, q, k, v, mask, B, Tq, Tk, Tkv, H, KV, D,
    static_cast<float>(scale));
  return undefined(env);
})

C2L_EXPORT(attentionBackward, 14, {
  const int64_t B = a.dim(8, "B"), T = a.dim(9, "T"), H = a.dim(10, "H"), KV = a.dim(11, "KV");
  const int64_t D = a.dim(12, "D");
  const double scale = a.number(13, "scale");
  check_heads(a, H, KV);
  const int64_t nq = a.mul({B, T, H, D}), nkv = a.mul({B, T, KV, D});
  View vdq, vdk, vdv, vg, vp, vq, vk, vv;
  float* dq = a.f32(0, "dq", nq, "B*T*H*D", &vdq);
  float* dk = a.f32(1, "dk", nkv, "B*T*KV*D", &vdk);
  float* dv = a.f32(2, "dv", nkv, "B*T*KV*D", &vdv);
  const float* dout = a.f32(3, "dout", nq, "B*T*H*D", &vg);
  const float* probs = a.f32(4, "probs", a.mul({B, H, T, T}), "B*H*T*T", &vp);
  const float* q = a.f32(5, "q", nq, "B*T*H*D", &vq);
  const float* k = a.f32(6, "k", nkv, "B*T*KV*D", &vk);
  const float* v = a.f32(7, "v", nkv, "B*T*KV*D", &vv);
  for (const View* o : {&vdq, &vdk, &vdv})
    for (const View* in : {&vg, &vp, &vq, &vk, &vv}) a.disjoint(*o, *in);
  a.disjoint(vdq, vdk);
  a.disjoint(vdq, vdv);
  a.disjoint(vdk, vdv);
  kernels().attention_backward(dq, dk, dv, dout, probs, q, k, v, B, T, H, KV, D,
    static_cast<float>(scale));
  return undefined(env);
})

C2L_EXPORT(swigluForward, 4, {
  const int64_t n = a.dim(3, "n");
  float* out = a.f32(0, "out", n, "n");
  const float* gate = a.f32(1, "gate", n, "n");
  const float* up = a.f32(2, "up", n, "n");
  kernels().swiglu_forward(out, gate, up, n);
  return undefined(env);
})

C2L_EXPORT(swigluBackward, 6, {
  const int64_t n = a.dim(5, "n");
  float* dgate = a.f32(0, "dgate", n, "n");
  float* dup = a.f32(1, "dup", n, "n");
  const float* dout = a.f32(2, "dout", n, "n");
  const float* gate = a.f32(3, "gate", n, "n");
  const float* up = a.f32(4, "up", n, "n");
  kernels().swiglu_backward(dgate, dup, dout, gate, up, n);
  return undefined(env);
})

C2L_EXPORT(crossEntropyForward, 6, {
  const int64_t rows = a.dim(4, "rows"), V = a.dim(5, "V");
  float* losses = a.f32(0, "losses", rows, "rows");
  float* lse = a.f32(1, "lse", rows, "rows");
  const float* logits = a.f32(2, "logits", a.mul({rows, V}), "rows*V");
  const int32_t* targets = a.i32(3, "targets", rows, "rows");
  check_indices(a, "targets", targets, rows, V, "V", true);
  kernels().cross_entropy_forward(losses, lse, logits, targets, rows, V);
  return undefined(env);
})

C2L_EXPORT(crossEntropyBackward, 7, {
  const int64_t rows = a.dim(5, "rows"), V = a.dim(6, "V");
  const int64_t n = a.mul({rows, V});
  float* dlogits = a.f32(0, "dlogits", n, "rows*V");
  const float* dlosses = a.f32(1, "dlosses", rows, "rows");
  const float* logits = a.f32(2, "logits", n, "rows*V");
  const float* lse = a.f32(3, "lse", rows, "rows");
  const int32_t* targets = a.i32(4, "targets", rows, "rows");
  check_indices(a, "targets", targets, rows, V, "V", true);
  kernels().cross_entropy_backward(dlogits, dlosses, logits, lse, targets, rows, V);
  return undefined(env);
})

C2L_EXPORT(embeddingForward, 5, {
  const int64_t n = a.dim(3, "n"), C = a.dim(4, "C");
  View vt;
  float* out = a.f32(0, "out", a.mul({n, C}), "n*C");
  const float* table = a.f32(1, "table", C, "C", &vt);
  const int32_t* ids = a.i32(2, "ids", n, "n");
  check_indices(a, "ids", ids, n, vt.length / C, "table.length/C", false);
  kernels().embedding_forward(out, table, ids, n, C);
  return undefined(env);
})

C2L_EXPORT(embeddingBackward, 5, {
  const int64_t n = a.dim(3, "n"), C = a.dim(4, "C");
  View vt;
  float* dtable = a.f32(0, "dtable", C, "C", &vt);
  const float* dout = a.f32(1, "dout", a.mul({n, C}), "n*C");
  const int32_t* ids = a.i32(2, "ids", n, "n");
  check_indices(a, "ids", ids, n, vt.length / C, "dtable.length/C", false);
  kernels().embedding_backward(dtable, dout, ids, n, C);
  return undefined(env);
})

C2L_EXPORT(add, 4, {
  const int64_t n = a.dim(3, "n");
  float* out = a.f32(0, "out", n, "n");
  const float* x = a.f32(1, "a", n, "n");
  const float* y = a.f32(2, "b", n, "n");
  kernels().add(out, x, y, n);
  return undefined(env);
})

C2L_EXPORT(axpy, 4, {
  const double alpha = a.number(2, "alpha");
  const int64_t n = a.dim(3, "n");
  float* y = a.f32(0, "y", n, "n");
  const float* x = a.f32(1, "x", n, "n");
  kernels().axpy(y, x, static_cast<float>(alpha), n);
  return undefined(env);
})

C2L_EXPORT(sumSquares, 2, {
  const int64_t n = a.dim(1, "n");
  const float* x = a.f32(0, "x", n, "n");
  napi_value r;
  napi_create_double(env, kernels().sum_squares(x, n), &r);
  return r;
})

C2L_EXPORT(geluForward, 3, {
  const int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n, "n");
  const float* x = a.f32(1, "x", n, "n");
  kernels().gelu_forward(out, x, n);
  return undefined(env);
})

C2L_EXPORT(geluBackward, 4, {
  const int64_t n = a.dim(3, "n");
  float* dx = a.f32(0, "dx", n, "n");
  const float* dout = a.f32(1, "dout", n, "n");
  const float* x = a.f32(2, "x", n, "n");
  kernels().gelu_backward(dx, dout, x, n);
  return undefined(env);
})

C2L_EXPORT(layernormForward, 9, {
  const int64_t rows = a.dim(6, "rows"), C = a.dim(7, "C");
  const double eps = a.number(8, "eps");
  const int64_t n = a.mul({rows, C});
  float* out = a.f32(0, "out", n, "rows*C");
  float* mean = a.f32(1, "mean", rows, "rows");
  float* rstd = a.f32(2, "rstd", rows, "rows");
  const float* x = a.f32(3, "x", n, "rows*C");
  const float* w = a.f32_or_null(4, "weight", C, "C");
  const float* b = a.f32_or_null(5, "bias", C, "C");
  kernels().layernorm_forward(out, mean, rstd, x, w, b, rows, C, static_cast<float>(eps));
  return undefined(env);
})

C2L_EXPORT(layernormBackward, 10, {
  const int64_t rows = a.dim(8, "rows"), C = a.dim(9, "C");
  const int64_t n = a.mul({rows, C});
  float* dx = a.f32(0, "dx", n, "rows*C");
  float* dw = a.f32_or_null(1, "dweight", C, "C");
  float* db = a.f32_or_null(2, "dbias", C, "C");
  const float* dout = a.f32(3, "dout", n, "rows*C");
  const float* x = a.f32(4, "x", n, "rows*C");
  const float* w = a.f32_or_null(5, "weight", C, "C");
  const float* mean = a.f32(6, "mean", rows, "rows");
  const float* rstd = a.f32(7, "rstd", rows, "rows");
  kernels().layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, rows, C);
  return undefined(env);
})

C2L_EXPORT(adamw, 11, {
  const int64_t n = a.dim(4, "n");
  const double lr = a.number(5, "lr"), beta1 = a.number(6, "beta1"), beta2 = a.number(7, "beta2");
  const double eps = a.number(8, "eps"), wd = a.number(9, "weightDecay");
  const double step = a.dim(10, "step");
  if (!(beta1 >= 0 && beta1 < 1)) a.fail("beta1 must be in [0, 1), got " + std::to_string(beta1));
  if (!(beta2 >= 0 && beta2 < 1)) a.fail("beta2 must be in [0, 1), got " + std::to_string(beta2));
  float* param = a.f32(0, "param", n, "n");
  const float* grad = a.f32(1, "grad", n, "n");
  float* m = a.f32(2, "m", n, "n");
  float* v = a.f32(3, "v", n, "n");
  kernels().adamw(param, grad, m, v, n, static_cast<float>(lr), beta1, beta2, static_cast<float>(eps),
    static_cast<float>(wd), step);
  return undefined(env);
})

// ---- threads and info ---------------------------------------------------------------------------

C2L_EXPORT(setNumThreads, 1, {
  const int64_t n = a.dim(0, "n");
  if (n > 64) a.fail("n must be at most 64, got " + std::to_string(n));
  c2l::set_num_threads(static_cast<int>(n));
  return undefined(env);
})

napi_value getNumThreads(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_int32(env, c2l::num_threads(), &r);
  return r;
}

napi_value setIsa(napi_env env, napi_callback_info info) {
  return guarded(env, "setIsa", [&]() -> napi_value {
    Args a(env, info, "setIsa", 1);
    char name[16] = {0};
    size_t len = 0;
    if (napi_get_value_string_utf8(env, a.raw(0), name, sizeof name, &len) != napi_ok)
      a.fail("isa must be a string");
    if (!c2l::select_isa(name))
      a.fail(std::string("cannot use '") + name + "' here (avx512, avx2, base or best, as this CPU supports)");
    napi_value r;
    napi_create_string_utf8(env, kernels().isa, NAPI_AUTO_LENGTH, &r);
    return r;
  });
}

void set_string(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

napi_value info(napi_env env, napi_callback_info) {
  return guarded(env, "info", [&]() -> napi_value {
    napi_value obj, threads, cpus;
    napi_create_object(env, &obj);
    set_string(env, obj, "gemm", c2l::gemm_description());
    napi_create_int32(env, c2l::num_threads(), &threads);
    napi_set_named_property(env, obj, "threads", threads);
    set_string(env, obj, "isa", kernels().isa);
    set_string(env, obj, "blisArch", c2l::gemm_arch());
    set_string(env, obj, "cpuFeatures", c2l::cpu_features());
    napi_create_int32(env, c2l::available_cpus(), &cpus);
    napi_set_named_property(env, obj, "availableCpus", cpus);
    return obj;
  });
}

// Training allocates and frees ~1 GB of activation and gradient buffers per step. By default glibc
// serves each large calloc with a fresh mmap, so every page is faulted in again on first touch; in
// this VM that cost more than all the arithmetic (1.4k vs 2.7k tokens/s on the bench-core model).
// Serving large blocks from the heap and never trimming it makes freed buffers reusable in place.
napi_value tuneAllocator(napi_env env, napi_callback_info) {
  return guarded(env, "tuneAllocator", [&]() -> napi_value {
    bool ok = true;
#if defined(__GLIBC__)
    ok = mallopt(M_MMAP_MAX, 0) == 1;
    ok = (mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1) && ok;
    ok = (mallopt(M_TOP_PAD, 64 << 20) == 1) && ok;
#else
    ok = false;
#endif
    napi_value result;
    napi_get_boolean(env, ok, &result);
    return result;
  });
}

}  // namespace

NAPI_MODULE_INIT() {
  // BLIS must learn its sub-configuration before its first call (see kernels/gemm.cc).
  try {
    c2l::gemm_init();
    (void)kernels();
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("code2lora_native: init failed: ") + e.what()).c_str());
    return nullptr;
  }
  struct Entry {
    const char* name;
    napi_callback fn;
  };
  const Entry entries[] = {
    {"matmul", matmul},
    {"rmsnormForward", rmsnormForward},
    {"rmsnormBackward", rmsnormBackward},
    {"ropeForward", ropeForward},
    {"ropeBackward", ropeBackward},
    {"attentionForward", attentionForward},
    {"attentionBackward", attentionBackward},
    {"swigluForward", swigluForward},
    {"swigluBackward", swigluBackward},
    {"crossEntropyForward", crossEntropyForward},
    {"crossEntropyBackward", crossEntropyBackward},
    {"embeddingForward", embeddingForward},
    {"embeddingBackward", embeddingBackward},
    {"add", add},
    {"axpy", axpy},
    {"sumSquares", sumSquares},
    {"geluForward", geluForward},
    {"geluBackward", geluBackward},
    {"layernormForward", layernormForward},
    {"layernormBackward", layernormBackward},
    {"adamw", adamw},
    {"setNumThreads", setNumThreads},
    {"getNumThreads", getNumThreads},
    {"info", info},
    {"setIsa", setIsa},
    {"tuneAllocator", tuneAllocator},
  };
  for (const Entry& e : entries) {
    napi_value fn;
    napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.fn, nullptr, &fn);
    napi_set_named_property(env, exports, e.name, fn);
  }
  return exports;
}
