;; The fold's two streaming passes over float32 memory, in WebAssembly SIMD (128-bit lanes).
;; Bit-identical to the scalar JavaScript in robust.ts (squaredNormIfFinite, addScaled): the same
;; arithmetic in the same order, so a fold gives the same model whichever kernel runs.
;; Compiled by scripts/build-fold-kernels.ts into fold-kernels.wasm.ts; edit this file, not that.
(module
  (import "env" "memory" (memory 1))

  ;; Σ x² over n float32 values at byte address $p, summed exactly as robust.ts's
  ;; squaredNormIfFinite: blocks of 64 values, where value i of a block goes to float32 partial sum
  ;; i mod 8 (lanes of $f0123 and $f4567; each square and sum rounded to float32), then the eight
  ;; partial sums go into f64 accumulators (two lanes in each of $a01 $a23 $a45 $a67); the values
  ;; after the last whole block go into accumulator 0 in f64; then s0 + s1 + … + s7 from the left.
  ;; Float32 lanes do four squares per instruction and need no conversion per value: this pass stays
  ;; at memory speed. The caller redoes a non-finite result in f64 (a square can overflow float32).
  (func (export "squaredNorm") (param $p i32) (param $n i32) (result f64)
    (local $end i32) (local $blockEnd i32) (local $v v128)
    (local $f0123 v128) (local $f4567 v128)
    (local $a01 v128) (local $a23 v128) (local $a45 v128) (local $a67 v128)
    (local $s0 f64) (local $f f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -64)) (i32.const 2))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $f0123 (v128.const f32x4 0 0 0 0))
        (local.set $f4567 (v128.const f32x4 0 0 0 0))
        (local.set $blockEnd (i32.add (local.get $p) (i32.const 256)))
        (loop $octets
          (local.set $v (v128.load align=4 (local.get $p)))
          (local.set $f0123 (f32x4.add (local.get $f0123) (f32x4.mul (local.get $v) (local.get $v))))
          (local.set $v (v128.load offset=16 align=4 (local.get $p)))
          (local.set $f4567 (f32x4.add (local.get $f4567) (f32x4.mul (local.get $v) (local.get $v))))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (br_if $octets (i32.lt_u (local.get $p) (local.get $blockEnd))))
        (local.set $a01 (f64x2.add (local.get $a01) (f64x2.promote_low_f32x4 (local.get $f0123))))
        (local.set $a23 (f64x2.add (local.get $a23) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $f0123) (local.get $f0123)))))
        (local.set $a45 (f64x2.add (local.get $a45) (f64x2.promote_low_f32x4 (local.get $f4567))))
        (local.set $a67 (f64x2.add (local.get $a67) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $f4567) (local.get $f4567)))))
        (br $blocks)))
    (local.set $s0 (f64x2.extract_lane 0 (local.get $a01)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 63)) (i32.const 2))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $f (f64.promote_f32 (f32.load (local.get $p))))
        (local.set $s0 (f64.add (local.get $s0) (f64.mul (local.get $f) (local.get $f))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $tail)))
    (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add
      (local.get $s0)
      (f64x2.extract_lane 1 (local.get $a01)))
      (f64x2.extract_lane 0 (local.get $a23)))
      (f64x2.extract_lane 1 (local.get $a23)))
      (f64x2.extract_lane 0 (local.get $a45)))
      (f64x2.extract_lane 1 (local.get $a45)))
      (f64x2.extract_lane 0 (local.get $a67)))
      (f64x2.extract_lane 1 (local.get $a67))))

  ;; y[i] ← y[i] + f32(a) · x[i] in float32 arithmetic (each product and sum rounded to float32,
  ;; as robust.ts's addScaled does), for n values, y at byte address $y and x at $x. The buffer sum
  ;; is float32 anyway; float32 lanes do four values per instruction where f64 would do two.
  (func (export "addScaled") (param $y i32) (param $x i32) (param $n i32) (param $a f64)
    (local $end i32) (local $a32 f32) (local $va v128)
    (local.set $a32 (f32.demote_f64 (local.get $a)))
    (local.set $va (f32x4.splat (local.get $a32)))
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done
      (loop $octets
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store align=4 (local.get $y)
          (f32x4.add
            (v128.load align=4 (local.get $y))
            (f32x4.mul (local.get $va) (v128.load align=4 (local.get $x)))))
        (v128.store offset=16 align=4 (local.get $y)
          (f32x4.add
            (v128.load offset=16 align=4 (local.get $y))
            (f32x4.mul (local.get $va) (v128.load offset=16 align=4 (local.get $x)))))
        (local.set $x (i32.add (local.get $x) (i32.const 32)))
        (local.set $y (i32.add (local.get $y) (i32.const 32)))
        (br $octets)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 7)) (i32.const 2))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $y)
          (f32.add (f32.load (local.get $y)) (f32.mul (local.get $a32) (f32.load (local.get $x)))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (br $tail))))
)
