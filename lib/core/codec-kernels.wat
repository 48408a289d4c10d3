;; Tensor encodings in WebAssembly SIMD (128-bit lanes): float32 <-> IEEE binary16, and per-tensor
;; affine int8. Bit-identical to the scalar JavaScript of float16.ts and quantization.ts (the
;; references, and the fallback): a value encodes to the same bits whichever runs. Each function
;; does the whole groups of 8 (16 for int8) values; the caller does the few left with the scalar code.
;; Compiled by scripts/build-fold-kernels.ts into codec-kernels.wasm.ts; edit this file, not that.
(module
  (import "env" "memory" (memory 1))

  ;; float32 -> binary16, round to nearest even, 8 values per step. With a the magnitude's bits:
  ;; a >= 65536 (0x47800000): infinity, or a quiet NaN (0x7e00) when a is a NaN;
  ;; a < 2^-14 (0x38800000, binary16's smallest normal): adding 0.5 (0x3f000000) in float32 lets
  ;; the hardware round the subnormal's bits into place, which are then read back;
  ;; otherwise: rebias the exponent and round the 13 dropped mantissa bits to even by adding
  ;; 0xfff plus the lowest kept bit. The sign goes back on top.
  (func $half8 (param $v v128) (result v128)
    (local $sign v128) (local $a v128) (local $normal v128) (local $sub v128) (local $big v128)
    (local.set $sign (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
    (local.set $a (v128.xor (local.get $v) (local.get $sign)))
    (local.set $normal
      (i32x4.shr_u
        (i32x4.add
          (i32x4.add (local.get $a) (v128.const i32x4 0xc8000fff 0xc8000fff 0xc8000fff 0xc8000fff))
          (v128.and (i32x4.shr_u (local.get $a) (i32.const 13)) (v128.const i32x4 1 1 1 1)))
        (i32.const 13)))
    (local.set $sub
      (i32x4.sub
        (f32x4.add (local.get $a) (v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000))
        (v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000)))
    (local.set $big
      (v128.bitselect
        (v128.const i32x4 0x7e00 0x7e00 0x7e00 0x7e00)
        (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00)
        (i32x4.gt_s (local.get $a) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
    (v128.or
      (i32x4.shr_u (local.get $sign) (i32.const 16))
      (v128.bitselect
        (local.get $big)
        (v128.bitselect
          (local.get $sub)
          (local.get $normal)
          (i32x4.lt_s (local.get $a) (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000)))
        (i32x4.ge_s (local.get $a) (v128.const i32x4 0x47800000 0x47800000 0x47800000 0x47800000)))))

  ;; n float32 at $src -> binary16 at $dst, for the first n - n mod 8.
  (func (export "toFloat16") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done
      (loop $eights
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (v128.store align=2 (local.get $dst)
          (i16x8.narrow_i32x4_u
            (call $half8 (v128.load align=4 (local.get $src)))
            (call $half8 (v128.load offset=16 align=4 (local.get $src)))))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $eights))))

  ;; binary16 (zero-extended to 32 bits) -> float32 bits: exponent and mantissa shifted into place
  ;; and rebiased; infinities and NaNs get the rest of float32's exponent; zeros and subnormals are
  ;; renormalised by one exact float32 subtraction.
  (func $single4 (param $h v128) (result v128)
    (local $o v128) (local $exp v128)
    (local.set $o (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)) (i32.const 13)))
    (local.set $exp (v128.and (local.get $o) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000)))
    (local.set $o (i32x4.add (local.get $o) (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000)))
    (local.set $o
      (v128.bitselect
        (i32x4.add (local.get $o) (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000))
        (v128.bitselect
          (f32x4.sub
            (i32x4.add (local.get $o) (v128.const i32x4 0x00800000 0x00800000 0x00800000 0x00800000))
            (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000))
          (local.get $o)
          (i32x4.eq (local.get $exp) (v128.const i32x4 0 0 0 0)))
        (i32x4.eq (local.get $exp) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))))
    (v128.or
      (local.get $o)
      (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))))

  ;; n binary16 at $src -> float32 at $dst, for the first n - n mod 8.
  (func (export "fromFloat16") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $h v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 1))))
    (block $done
      (loop $eights
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $h (v128.load align=2 (local.get $src)))
        (v128.store align=4 (local.get $dst) (call $single4 (i32x4.extend_low_i16x8_u (local.get $h))))
        (v128.store offset=16 align=4 (local.get $dst) (call $single4 (i32x4.extend_high_i16x8_u (local.get $h))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $eights))))

  ;; clamp(nearest_even(f32(x · inverse)) + zeroPoint, -128, 127), NaN -> 0, for 4 values. The sum is
  ;; exact where it matters (a whole number below 2^24; larger ones clamp either way).
  (func $level4 (param $x v128) (param $inverse v128) (param $zero v128) (result v128)
    (i32x4.trunc_sat_f32x4_s
      (f32x4.pmin
        (f32x4.pmax
          (f32x4.add (f32x4.nearest (f32x4.mul (local.get $x) (local.get $inverse))) (local.get $zero))
          (v128.const f32x4 -128 -128 -128 -128))
        (v128.const f32x4 127 127 127 127))))

  ;; n float32 at $src -> int8 levels at $dst, for the first n - n mod 16.
  (func (export "quantize") (param $src i32) (param $dst i32) (param $n i32) (param $inverse f32) (param $zeroPoint i32)
    (local $end i32) (local $vi v128) (local $vz v128)
    (local.set $vi (f32x4.splat (local.get $inverse)))
    (local.set $vz (f32x4.splat (f32.convert_i32_s (local.get $zeroPoint))))
    (local.set $end (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2))))
    (block $done
      (loop $sixteens
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (v128.store align=1 (local.get $dst)
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (call $level4 (v128.load align=4 (local.get $src)) (local.get $vi) (local.get $vz))
              (call $level4 (v128.load offset=16 align=4 (local.get $src)) (local.get $vi) (local.get $vz)))
            (i16x8.narrow_i32x4_s
              (call $level4 (v128.load offset=32 align=4 (local.get $src)) (local.get $vi) (local.get $vz))
              (call $level4 (v128.load offset=48 align=4 (local.get $src)) (local.get $vi) (local.get $vz)))))
        (local.set $src (i32.add (local.get $src) (i32.const 64)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $sixteens))))

  ;; f32(scale · (level - zeroPoint)) for 4 levels (as i32): exact operands, one rounding, as in JS.
  (func $value4 (param $levels v128) (param $scale v128) (param $zero v128) (result v128)
    (f32x4.mul (local.get $scale) (f32x4.sub (f32x4.convert_i32x4_s (local.get $levels)) (local.get $zero))))

  ;; n int8 levels at $src -> float32 at $dst, for the first n - n mod 16.
  (func (export "dequantize") (param $src i32) (param $dst i32) (param $n i32) (param $scale f32) (param $zeroPoint i32)
    (local $end i32) (local $q v128) (local $half v128) (local $vs v128) (local $vz v128)
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $vz (f32x4.splat (f32.convert_i32_s (local.get $zeroPoint))))
    (local.set $end (i32.add (local.get $src) (i32.and (local.get $n) (i32.const -16))))
    (block $done
      (loop $sixteens
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $q (v128.load align=1 (local.get $src)))
        (local.set $half (i16x8.extend_low_i8x16_s (local.get $q)))
        (v128.store align=4 (local.get $dst)
          (call $value4 (i32x4.extend_low_i16x8_s (local.get $half)) (local.get $vs) (local.get $vz)))
        (v128.store offset=16 align=4 (local.get $dst)
          (call $value4 (i32x4.extend_high_i16x8_s (local.get $half)) (local.get $vs) (local.get $vz)))
        (local.set $half (i16x8.extend_high_i8x16_s (local.get $q)))
        (v128.store offset=32 align=4 (local.get $dst)
          (call $value4 (i32x4.extend_low_i16x8_s (local.get $half)) (local.get $vs) (local.get $vz)))
        (v128.store offset=48 align=4 (local.get $dst)
          (call $value4 (i32x4.extend_high_i16x8_s (local.get $half)) (local.get $vs) (local.get $vz)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
        (br $sixteens))))

  ;; min(0, values) and max(0, values) of the first n - n mod 8 float32 at $src, written to $out as
  ;; two float32. pmin/pmax keep the accumulator unless the value is smaller/larger, as JS's
  ;; `if (v < min) min = v` does (a NaN never enters); min and max are the same in any order.
  (func (export "range") (param $src i32) (param $n i32) (param $out i32)
    (local $end i32) (local $v v128) (local $lo v128) (local $hi v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done
      (loop $eights
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $v (v128.load align=4 (local.get $src)))
        (local.set $lo (f32x4.pmin (local.get $lo) (local.get $v)))
        (local.set $hi (f32x4.pmax (local.get $hi) (local.get $v)))
        (local.set $v (v128.load offset=16 align=4 (local.get $src)))
        (local.set $lo (f32x4.pmin (local.get $lo) (local.get $v)))
        (local.set $hi (f32x4.pmax (local.get $hi) (local.get $v)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (br $eights)))
    (local.set $lo (f32x4.pmin (local.get $lo) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lo) (local.get $lo))))
    (local.set $lo (f32x4.pmin (local.get $lo) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $lo) (local.get $lo))))
    (local.set $hi (f32x4.pmax (local.get $hi) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $hi) (local.get $hi))))
    (local.set $hi (f32x4.pmax (local.get $hi) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $hi) (local.get $hi))))
    (f32.store (local.get $out) (f32x4.extract_lane 0 (local.get $lo)))
    (f32.store offset=4 (local.get $out) (f32x4.extract_lane 0 (local.get $hi))))
)
