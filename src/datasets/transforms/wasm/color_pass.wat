;; Colour pass of the data loader: RGB uint8 pixels -> float32 through an
;; affine 3x4 colour map, 4 pixels per step with 128-bit SIMD.
;; Build: node src/datasets/transforms/wasm/build.mjs (writes color_pass_wasm.ts).
(module
  (memory (export "memory") 1)

  ;; pass(src, dst, w, h, srcStride, dstStride, params, flip)
  ;;   src: first byte of row 0 (rows srcStride bytes apart; negative for a vertical flip)
  ;;   flip: 1 mirrors each row (horizontal flip): output pixel x reads source pixel w-1-x
  ;;   dst: first float of row 0 (rows dstStride bytes apart)
  ;;   params: 12 f32 = m0..m8 (row-major out x in), t0..t2
  (func (export "pass")
    (param $src i32) (param $dst i32) (param $w i32) (param $h i32)
    (param $ss i32) (param $ds i32) (param $p i32) (param $flip i32)
    (local $ks v128) (local $kg v128) (local $kb v128) (local $step i32) (local $y i32) (local $x i32) (local $s i32) (local $d i32) (local $n4 i32)
    (local $m0 v128) (local $m1 v128) (local $m2 v128)
    (local $m3 v128) (local $m4 v128) (local $m5 v128)
    (local $m6 v128) (local $m7 v128) (local $m8 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128)
    (local $v v128) (local $r v128) (local $g v128) (local $b v128)
    (local $o0 v128) (local $o1 v128) (local $o2 v128) (local $a v128) (local $c v128)
    (local $fr f32) (local $fg f32) (local $fb f32)
    (local.set $m0 (v128.load32_splat offset=0 (local.get $p)))
    (local.set $m1 (v128.load32_splat offset=4 (local.get $p)))
    (local.set $m2 (v128.load32_splat offset=8 (local.get $p)))
    (local.set $m3 (v128.load32_splat offset=12 (local.get $p)))
    (local.set $m4 (v128.load32_splat offset=16 (local.get $p)))
    (local.set $m5 (v128.load32_splat offset=20 (local.get $p)))
    (local.set $m6 (v128.load32_splat offset=24 (local.get $p)))
    (local.set $m7 (v128.load32_splat offset=28 (local.get $p)))
    (local.set $m8 (v128.load32_splat offset=32 (local.get $p)))
    (local.set $t0 (v128.load32_splat offset=36 (local.get $p)))
    (local.set $t1 (v128.load32_splat offset=40 (local.get $p)))
    (local.set $t2 (v128.load32_splat offset=44 (local.get $p)))
    (local.set $n4 (i32.and (local.get $w) (i32.const -4)))
    ;; Byte picks of R, G, B of 4 pixels (12 bytes) into 4 i32 lanes; reversed for a mirrored row.
    (local.set $ks (v128.const i8x16 0 16 16 16 3 16 16 16 6 16 16 16 9 16 16 16))
    (local.set $kg (v128.const i8x16 1 16 16 16 4 16 16 16 7 16 16 16 10 16 16 16))
    (local.set $kb (v128.const i8x16 2 16 16 16 5 16 16 16 8 16 16 16 11 16 16 16))
    (local.set $step (i32.const 12))
    (if (local.get $flip) (then
      (local.set $ks (v128.const i8x16 9 16 16 16 6 16 16 16 3 16 16 16 0 16 16 16))
      (local.set $kg (v128.const i8x16 10 16 16 16 7 16 16 16 4 16 16 16 1 16 16 16))
      (local.set $kb (v128.const i8x16 11 16 16 16 8 16 16 16 5 16 16 16 2 16 16 16))
      (local.set $step (i32.const -12))))
    (if (i32.gt_s (local.get $h) (i32.const 0)) (then
    (loop $rows
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $ss))))
      (if (local.get $flip) (then
        (local.set $s (i32.add (local.get $s) (i32.mul (i32.sub (local.get $w) (i32.const 4)) (i32.const 3))))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $y) (local.get $ds))))
      (local.set $x (i32.const 0))
      (block $done4
        (loop $px4
          (br_if $done4 (i32.ge_s (local.get $x) (local.get $n4)))
          (local.set $v (v128.load (local.get $s)))
          (local.set $r (f32x4.convert_i32x4_u (i8x16.swizzle (local.get $v) (local.get $ks))))
          (local.set $g (f32x4.convert_i32x4_u (i8x16.swizzle (local.get $v) (local.get $kg))))
          (local.set $b (f32x4.convert_i32x4_u (i8x16.swizzle (local.get $v) (local.get $kb))))
          (local.set $o0 (f32x4.add
            (f32x4.add (f32x4.mul (local.get $m0) (local.get $r)) (f32x4.mul (local.get $m1) (local.get $g)))
            (f32x4.add (f32x4.mul (local.get $m2) (local.get $b)) (local.get $t0))))
          (local.set $o1 (f32x4.add
            (f32x4.add (f32x4.mul (local.get $m3) (local.get $r)) (f32x4.mul (local.get $m4) (local.get $g)))
            (f32x4.add (f32x4.mul (local.get $m5) (local.get $b)) (local.get $t1))))
          (local.set $o2 (f32x4.add
            (f32x4.add (f32x4.mul (local.get $m6) (local.get $r)) (f32x4.mul (local.get $m7) (local.get $g)))
            (f32x4.add (f32x4.mul (local.get $m8) (local.get $b)) (local.get $t2))))
          ;; [R0 G0 R1 G1] -> [R0 G0 B0 R1]
          (local.set $a (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o0) (local.get $o1)))
          (v128.store (local.get $d)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 8 9 10 11 (local.get $a) (local.get $o2)))
          ;; [G1 B1 G2 B2] -> [G1 B1 R2 G2]
          (local.set $c (i8x16.shuffle 4 5 6 7 20 21 22 23 8 9 10 11 24 25 26 27 (local.get $o1) (local.get $o2)))
          (v128.store offset=16 (local.get $d)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 24 25 26 27 8 9 10 11 (local.get $c) (local.get $o0)))
          ;; [R3 G3 R3 G3] -> [B2 R3 G3 B3]
          (local.set $a (i8x16.shuffle 12 13 14 15 28 29 30 31 12 13 14 15 28 29 30 31 (local.get $o0) (local.get $o1)))
          (v128.store offset=32 (local.get $d)
            (i8x16.shuffle 24 25 26 27 0 1 2 3 4 5 6 7 28 29 30 31 (local.get $a) (local.get $o2)))
          (local.set $s (i32.add (local.get $s) (local.get $step)))
          (local.set $d (i32.add (local.get $d) (i32.const 48)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (br $px4)))
      ;; Scalar tail: source pixel x (or w-1-x when mirrored) of this row.
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $ss))))
      (block $done1
        (loop $px1
          (br_if $done1 (i32.ge_s (local.get $x) (local.get $w)))
          (local.set $s (i32.add
            (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $ss)))
            (i32.mul (i32.const 3)
              (select (i32.sub (i32.sub (local.get $w) (i32.const 1)) (local.get $x)) (local.get $x) (local.get $flip)))))
          (local.set $fr (f32.convert_i32_u (i32.load8_u offset=0 (local.get $s))))
          (local.set $fg (f32.convert_i32_u (i32.load8_u offset=1 (local.get $s))))
          (local.set $fb (f32.convert_i32_u (i32.load8_u offset=2 (local.get $s))))
          (f32.store offset=0 (local.get $d) (f32.add (f32.add
            (f32.mul (f32.load offset=0 (local.get $p)) (local.get $fr))
            (f32.mul (f32.load offset=4 (local.get $p)) (local.get $fg)))
            (f32.add (f32.mul (f32.load offset=8 (local.get $p)) (local.get $fb)) (f32.load offset=36 (local.get $p)))))
          (f32.store offset=4 (local.get $d) (f32.add (f32.add
            (f32.mul (f32.load offset=12 (local.get $p)) (local.get $fr))
            (f32.mul (f32.load offset=16 (local.get $p)) (local.get $fg)))
            (f32.add (f32.mul (f32.load offset=20 (local.get $p)) (local.get $fb)) (f32.load offset=40 (local.get $p)))))
          (f32.store offset=8 (local.get $d) (f32.add (f32.add
            (f32.mul (f32.load offset=24 (local.get $p)) (local.get $fr))
            (f32.mul (f32.load offset=28 (local.get $p)) (local.get $fg)))
            (f32.add (f32.mul (f32.load offset=32 (local.get $p)) (local.get $fb)) (f32.load offset=44 (local.get $p)))))
          (local.set $d (i32.add (local.get $d) (i32.const 12)))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $px1)))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br_if $rows (i32.lt_s (local.get $y) (local.get $h)))))))
)
