;; The integer sums behind PSNR and SSIM (src/client/quality.ts), four 4x4 blocks at a time with 128-bit SIMD.
;; Integers only, so the sums equal the JavaScript ones exactly; the floating-point end step stays in JavaScript.
;;
;; block_row(a, b, stride, bstride, blocks, out, mul, add, shift) reads the 4 rows starting at byte offsets a (rows
;; `stride` bytes apart) and b (rows `bstride` apart: 0 reads one row four times, a reference that is the same
;; everywhere) and writes, for each 4x4 block z < blocks, its sums planar: s1 at out[z], s2 at out[P + z], a^2+b^2 at
;; out[2P + z], ab at out[3P + z] (i32 each, P = blocks rounded up to 4). It returns the squared error over those
;; blocks. Each of a's values is first mapped to clip((q15mulr(v << 7, mul) +sat add) >> shift, 0, 255): a decoded
;; plane's limited range to full range with the parameters of src/client/full-range.ts (Q15_LUMA, Q15_CHROMA; equal to
;; its tables on every value), or left as it is with mul 256, add 0, shift 0 (q15mulr(v << 7, 256) = v).
;; A group of four blocks is one 16-byte load a row; the last group may read up to 12 bytes past the blocks (the
;; caller leaves that much room after each plane) and writes its unused lanes into the padding, whose error is masked.
;; With d = a-b and e = a+b: sum d^2 is the error, a^2+b^2 = (e^2+d^2)/2 and ab = (e^2-d^2)/4 exactly.
;;
;; windows(prev, cur, blocks, total, c1, c2) adds to total the SSIM of each 8x8 window over two block rows' sums, one
;; window after the other, in the order and with the double operations of quality.ts's ssimWindow: its integer terms
;; fit in i32 for 8-bit pixels and convert to f64 exactly, and IEEE doubles round the same here as in JavaScript, so
;; the result is the JavaScript one bit for bit.
(module
  (memory (export "memory") 1)

  ;; Per-lane pair sums of 4 rows of dot products, as [block0 block1] from lo and [block2 block3] from hi.
  (func $pairs (param $lo v128) (param $hi v128) (result v128)
    (i32x4.add
      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $lo) (local.get $hi))
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $lo) (local.get $hi))))

  ;; Each 32-bit lane's four bytes summed.
  (func $bytesum (param $v v128) (result v128)
    (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $v))))

  (func (export "block_row") (param $a i32) (param $b i32) (param $stride i32) (param $bstride i32) (param $blocks i32)
    (param $out i32) (param $mul i32) (param $add i32) (param $shift i32) (result f64)
    (local $z i32) (local $r i32) (local $pa i32) (local $pb i32) (local $plane i32) (local $o i32)
    (local $m v128) (local $ad v128)
    (local $va v128) (local $vb v128) (local $al v128) (local $ah v128) (local $bl v128) (local $bh v128)
    (local $x v128)
    (local $s1 v128) (local $s2 v128) (local $ddl v128) (local $ddh v128) (local $eel v128) (local $eeh v128)
    (local $dd v128) (local $ee v128) (local $err v128)
    ;; plane = P * 4 bytes
    (local.set $plane (i32.shl (i32.and (i32.add (local.get $blocks) (i32.const 3)) (i32.const -4)) (i32.const 2)))
    (local.set $err (v128.const i32x4 0 0 0 0))
    (local.set $m (i16x8.splat (local.get $mul)))
    (local.set $ad (i16x8.splat (local.get $add)))
    (block $done
      (loop $group
        (br_if $done (i32.ge_s (local.get $z) (local.get $blocks)))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $ddl (v128.const i32x4 0 0 0 0))
        (local.set $ddh (v128.const i32x4 0 0 0 0))
        (local.set $eel (v128.const i32x4 0 0 0 0))
        (local.set $eeh (v128.const i32x4 0 0 0 0))
        (local.set $pa (i32.add (local.get $a) (i32.shl (local.get $z) (i32.const 2))))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $z) (i32.const 2))))
        (local.set $r (i32.const 0))
        (loop $row
          (local.set $va (v128.load (local.get $pa)))
          ;; a's values through the range step; the narrow clips them to 0..255.
          (local.set $va (i8x16.narrow_i16x8_u
            (i16x8.shr_s (i16x8.add_sat_s (i16x8.q15mulr_sat_s
              (i16x8.shl (i16x8.extend_low_i8x16_u (local.get $va)) (i32.const 7)) (local.get $m)) (local.get $ad))
              (local.get $shift))
            (i16x8.shr_s (i16x8.add_sat_s (i16x8.q15mulr_sat_s
              (i16x8.shl (i16x8.extend_high_i8x16_u (local.get $va)) (i32.const 7)) (local.get $m)) (local.get $ad))
              (local.get $shift))))
          (local.set $vb (v128.load (local.get $pb)))
          (local.set $s1 (i32x4.add (local.get $s1) (call $bytesum (local.get $va))))
          (local.set $s2 (i32x4.add (local.get $s2) (call $bytesum (local.get $vb))))
          (local.set $al (i16x8.extend_low_i8x16_u (local.get $va)))
          (local.set $ah (i16x8.extend_high_i8x16_u (local.get $va)))
          (local.set $bl (i16x8.extend_low_i8x16_u (local.get $vb)))
          (local.set $bh (i16x8.extend_high_i8x16_u (local.get $vb)))
          (local.set $x (i16x8.sub (local.get $al) (local.get $bl)))
          (local.set $ddl (i32x4.add (local.get $ddl) (i32x4.dot_i16x8_s (local.get $x) (local.get $x))))
          (local.set $x (i16x8.sub (local.get $ah) (local.get $bh)))
          (local.set $ddh (i32x4.add (local.get $ddh) (i32x4.dot_i16x8_s (local.get $x) (local.get $x))))
          (local.set $x (i16x8.add (local.get $al) (local.get $bl)))
          (local.set $eel (i32x4.add (local.get $eel) (i32x4.dot_i16x8_s (local.get $x) (local.get $x))))
          (local.set $x (i16x8.add (local.get $ah) (local.get $bh)))
          (local.set $eeh (i32x4.add (local.get $eeh) (i32x4.dot_i16x8_s (local.get $x) (local.get $x))))
          (local.set $pa (i32.add (local.get $pa) (local.get $stride)))
          (local.set $pb (i32.add (local.get $pb) (local.get $bstride)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $row (i32.lt_u (local.get $r) (i32.const 4))))
        (local.set $dd (call $pairs (local.get $ddl) (local.get $ddh)))
        (local.set $ee (call $pairs (local.get $eel) (local.get $eeh)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $z) (i32.const 2))))
        (v128.store (local.get $o) (local.get $s1))
        (v128.store (i32.add (local.get $o) (local.get $plane)) (local.get $s2))
        (v128.store (i32.add (local.get $o) (i32.shl (local.get $plane) (i32.const 1)))
          (i32x4.shr_s (i32x4.add (local.get $ee) (local.get $dd)) (i32.const 1)))
        (v128.store (i32.add (local.get $o) (i32.mul (local.get $plane) (i32.const 3)))
          (i32x4.shr_s (i32x4.sub (local.get $ee) (local.get $dd)) (i32.const 2)))
        ;; Only the lanes of blocks that exist count towards the error.
        (local.set $err (i32x4.add (local.get $err)
          (v128.and (local.get $dd)
            (i32x4.gt_s (i32x4.splat (i32.sub (local.get $blocks) (local.get $z))) (v128.const i32x4 0 1 2 3)))))
        (local.set $z (i32.add (local.get $z) (i32.const 4)))
        (br $group)))
    ;; Each lane is at most (blocks / 4) * 16 * 255^2, below 2^31 for rows up to 8000 pixels; summed exactly in f64.
    (f64.add
      (f64.add (f64.convert_i32_s (i32x4.extract_lane 0 (local.get $err)))
               (f64.convert_i32_s (i32x4.extract_lane 1 (local.get $err))))
      (f64.add (f64.convert_i32_s (i32x4.extract_lane 2 (local.get $err)))
               (f64.convert_i32_s (i32x4.extract_lane 3 (local.get $err))))))

  ;; One f64x2 pair of ssimWindow's quotient from i32 lanes 0 and 1 of its four terms.
  (func $quotient (param $n1 v128) (param $n2 v128) (param $d1 v128) (param $d2 v128) (result v128)
    (f64x2.div
      (f64x2.mul (f64x2.convert_low_i32x4_s (local.get $n1)) (f64x2.convert_low_i32x4_s (local.get $n2)))
      (f64x2.mul (f64x2.convert_low_i32x4_s (local.get $d1)) (f64x2.convert_low_i32x4_s (local.get $d2)))))

  ;; Lanes 2 and 3 moved to 0 and 1.
  (func $high (param $v v128) (result v128)
    (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))

  ;; Four neighbouring windows' sums: the blocks at i and i+1 of both rows.
  (func $window4 (param $p i32) (param $c i32) (result v128)
    (i32x4.add
      (i32x4.add (v128.load (local.get $p)) (v128.load offset=4 (local.get $p)))
      (i32x4.add (v128.load (local.get $c)) (v128.load offset=4 (local.get $c)))))

  (func (export "windows") (param $prev i32) (param $cur i32) (param $blocks i32) (param $total f64) (param $c1 i32)
    (param $c2 i32) (result f64)
    (local $i i32) (local $n i32) (local $plane i32) (local $p i32) (local $c i32)
    (local $s1 v128) (local $s2 v128) (local $ss v128) (local $s12 v128)
    (local $n1 v128) (local $n2 v128) (local $d1 v128) (local $d2 v128) (local $lo v128) (local $hi v128)
    (local.set $plane (i32.shl (i32.and (i32.add (local.get $blocks) (i32.const 3)) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.sub (local.get $blocks) (i32.const 1)))
    (block $done
      (loop $group
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $prev) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $c (i32.add (local.get $cur) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $s1 (call $window4 (local.get $p) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (local.get $plane)))
        (local.set $c (i32.add (local.get $c) (local.get $plane)))
        (local.set $s2 (call $window4 (local.get $p) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (local.get $plane)))
        (local.set $c (i32.add (local.get $c) (local.get $plane)))
        (local.set $ss (call $window4 (local.get $p) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (local.get $plane)))
        (local.set $c (i32.add (local.get $c) (local.get $plane)))
        (local.set $s12 (call $window4 (local.get $p) (local.get $c)))
        ;; 2*s1*s2 + C1, 2*covar + C2, s1^2 + s2^2 + C1, vars + C2
        (local.set $n1 (i32x4.add (i32x4.shl (i32x4.mul (local.get $s1) (local.get $s2)) (i32.const 1))
          (i32x4.splat (local.get $c1))))
        (local.set $n2 (i32x4.add
          (i32x4.shl (i32x4.sub (i32x4.shl (local.get $s12) (i32.const 6)) (i32x4.mul (local.get $s1) (local.get $s2)))
            (i32.const 1))
          (i32x4.splat (local.get $c2))))
        (local.set $d1 (i32x4.add
          (i32x4.add (i32x4.mul (local.get $s1) (local.get $s1)) (i32x4.mul (local.get $s2) (local.get $s2)))
          (i32x4.splat (local.get $c1))))
        (local.set $d2 (i32x4.add
          (i32x4.sub (i32x4.sub (i32x4.shl (local.get $ss) (i32.const 6)) (i32x4.mul (local.get $s1) (local.get $s1)))
            (i32x4.mul (local.get $s2) (local.get $s2)))
          (i32x4.splat (local.get $c2))))
        (local.set $lo (call $quotient (local.get $n1) (local.get $n2) (local.get $d1) (local.get $d2)))
        (local.set $hi (call $quotient (call $high (local.get $n1)) (call $high (local.get $n2))
          (call $high (local.get $d1)) (call $high (local.get $d2))))
        ;; Added one window at a time, as JavaScript adds them; lanes past the last window are not windows.
        (local.set $total (f64.add (local.get $total) (f64x2.extract_lane 0 (local.get $lo))))
        (if (i32.lt_s (i32.add (local.get $i) (i32.const 1)) (local.get $n))
          (then (local.set $total (f64.add (local.get $total) (f64x2.extract_lane 1 (local.get $lo))))))
        (if (i32.lt_s (i32.add (local.get $i) (i32.const 2)) (local.get $n))
          (then (local.set $total (f64.add (local.get $total) (f64x2.extract_lane 0 (local.get $hi))))))
        (if (i32.lt_s (i32.add (local.get $i) (i32.const 3)) (local.get $n))
          (then (local.set $total (f64.add (local.get $total) (f64x2.extract_lane 1 (local.get $hi))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $group)))
    (local.get $total))
)
