/// Vectorisable float math for JIT kernels, as LLVM IR text (typed pointers, LLVM 14). LLVM 14
/// has no vector math library here, so `llvm.exp.f32` in a loop would be scalarised into libm
/// calls; these Cephes-style polynomials are plain arithmetic and vectorise. Accuracy is within a
/// few ulp of glibc on normal numbers (the interpreter's reference); tests compare the two.
enum MathLibrary {
    static let declarations = """
    declare float @llvm.maxnum.f32(float, float)
    declare float @llvm.minnum.f32(float, float)
    declare float @llvm.rint.f32(float)
    declare float @llvm.fabs.f32(float)
    declare float @llvm.sqrt.f32(float)
    declare float @llvm.copysign.f32(float, float)
    declare float @llvm.pow.f32(float, float)
    declare float @cosf(float)
    declare float @logf(float)

    """

    static let functions = """
    define internal float @vsc_exp(float %x) alwaysinline {
      %c0 = call float @llvm.maxnum.f32(float %x, float -86.0)
      %c = call float @llvm.minnum.f32(float %c0, float 0x40562E42E0000000)
      %t = fmul float %c, 0x3FF7154760000000
      %n = call float @llvm.rint.f32(float %t)
      %a = fmul float %n, 0x3FE6300000000000
      %r0 = fsub float %c, %a
      %b = fmul float %n, 0xBF2BD01060000000
      %r = fsub float %r0, %b
      %p0 = fmul float %r, 0x3F2A0D2CE0000000
      %p1 = fadd float %p0, 0x3F56E879C0000000
      %p2 = fmul float %p1, %r
      %p3 = fadd float %p2, 0x3F81112100000000
      %p4 = fmul float %p3, %r
      %p5 = fadd float %p4, 0x3FA5553820000000
      %p6 = fmul float %p5, %r
      %p7 = fadd float %p6, 0x3FC5555540000000
      %p8 = fmul float %p7, %r
      %p9 = fadd float %p8, 0x3FE0000000000000
      %rr = fmul float %r, %r
      %q0 = fmul float %p9, %rr
      %q1 = fadd float %q0, %r
      %y = fadd float %q1, 1.0
      %ni = fptosi float %n to i32
      %e0 = add i32 %ni, 126
      %e1 = shl i32 %e0, 23
      %s = bitcast i32 %e1 to float
      %ys = fmul float %y, %s
      %y2 = fmul float %ys, 2.0
      %lo = fcmp olt float %x, 0xC055D589E0000000
      %hi = fcmp ogt float %x, 0x40562E42E0000000
      %nan = fcmp uno float %x, 0.0
      %v0 = select i1 %lo, float 0.0, float %y2
      %v1 = select i1 %hi, float 0x7FF0000000000000, float %v0
      %v2 = select i1 %nan, float %x, float %v1
      ret float %v2
    }

    define internal float @vsc_log(float %x) alwaysinline {
      %bits = bitcast float %x to i32
      %eb = lshr i32 %bits, 23
      %eb2 = and i32 %eb, 255
      %e0 = sub i32 %eb2, 127
      %mb = and i32 %bits, 8388607
      %mb2 = or i32 %mb, 1065353216
      %m0 = bitcast i32 %mb2 to float
      %big = fcmp ogt float %m0, 0x3FF6A09E60000000
      %mh = fmul float %m0, 0.5
      %m = select i1 %big, float %mh, float %m0
      %e1 = add i32 %e0, 1
      %ei = select i1 %big, i32 %e1, i32 %e0
      %e = sitofp i32 %ei to float
      %f = fsub float %m, 1.0
      %z = fmul float %f, %f
      %y0 = fmul float %f, 0x3FB2043760000000
      %y1 = fadd float %y0, 0xBFBD7A3700000000
      %y2 = fmul float %y1, %f
      %y3 = fadd float %y2, 0x3FBDE4A340000000
      %y4 = fmul float %y3, %f
      %y5 = fadd float %y4, 0xBFBFCBA9E0000000
      %y6 = fmul float %y5, %f
      %y7 = fadd float %y6, 0x3FC23D37E0000000
      %y8 = fmul float %y7, %f
      %y9 = fadd float %y8, 0xBFC555CA00000000
      %y10 = fmul float %y9, %f
      %y11 = fadd float %y10, 0x3FC999D580000000
      %y12 = fmul float %y11, %f
      %y13 = fadd float %y12, 0xBFCFFFFF80000000
      %y14 = fmul float %y13, %f
      %y15 = fadd float %y14, 0x3FD5555540000000
      %y16 = fmul float %y15, %f
      %y17 = fmul float %y16, %z
      %l0 = fmul float %e, 0xBF2BD01060000000
      %y18 = fadd float %y17, %l0
      %hz = fmul float %z, 0.5
      %y19 = fsub float %y18, %hz
      %r0 = fadd float %f, %y19
      %l1 = fmul float %e, 0x3FE6300000000000
      %r = fadd float %r0, %l1
      %isz = fcmp oeq float %x, 0.0
      %isneg = fcmp olt float %x, 0.0
      %isinf = fcmp oeq float %x, 0x7FF0000000000000
      %isnan = fcmp uno float %x, 0.0
      %v0 = select i1 %isz, float 0xFFF0000000000000, float %r
      %v1 = select i1 %isneg, float 0x7FF8000000000000, float %v0
      %v2 = select i1 %isinf, float %x, float %v1
      %v3 = select i1 %isnan, float %x, float %v2
      ret float %v3
    }

    define internal float @vsc_log1p(float %x) alwaysinline {
      %u = fadd float %x, 1.0
      %l = call float @vsc_log(float %u)
      %d = fsub float %u, 1.0
      %q = fdiv float %x, %d
      %c = fmul float %l, %q
      %one = fcmp oeq float %u, 1.0
      %inf = fcmp oeq float %u, 0x7FF0000000000000
      %v0 = select i1 %inf, float %l, float %c
      %v = select i1 %one, float %x, float %v0
      ret float %v
    }

    define internal float @vsc_tanh(float %x) alwaysinline {
      %ax = call float @llvm.fabs.f32(float %x)
      %z = fmul float %x, %x
      %p0 = fmul float %z, 0xBF775E1D40000000
      %p1 = fadd float %p0, 0x3F952269C0000000
      %p2 = fmul float %p1, %z
      %p3 = fadd float %p2, 0xBFAB83C5A0000000
      %p4 = fmul float %p3, %z
      %p5 = fadd float %p4, 0x3FC1107260000000
      %p6 = fmul float %p5, %z
      %p7 = fadd float %p6, 0xBFD5555320000000
      %p8 = fmul float %p7, %z
      %p9 = fmul float %p8, %x
      %small = fadd float %p9, %x
      %a2 = fmul float %ax, 2.0
      %e = call float @vsc_exp(float %a2)
      %e1 = fadd float %e, 1.0
      %q = fdiv float 2.0, %e1
      %t = fsub float 1.0, %q
      %big = call float @llvm.copysign.f32(float %t, float %x)
      %isSmall = fcmp olt float %ax, 0.625
      %v = select i1 %isSmall, float %small, float %big
      ret float %v
    }

    define internal float @vsc_sigmoid(float %x) alwaysinline {
      %ax = call float @llvm.fabs.f32(float %x)
      %nax = fneg float %ax
      %e = call float @vsc_exp(float %nax)
      %d = fadd float %e, 1.0
      %s = fdiv float 1.0, %d
      %es = fmul float %e, %s
      %pos = fcmp oge float %x, 0.0
      %v0 = select i1 %pos, float %s, float %es
      %nan = fcmp uno float %x, 0.0
      %v = select i1 %nan, float %x, float %v0
      ret float %v
    }

    define internal float @vsc_softplus(float %x) alwaysinline {
      %ax = call float @llvm.fabs.f32(float %x)
      %nax = fneg float %ax
      %e = call float @vsc_exp(float %nax)
      %l = call float @vsc_log1p(float %e)
      %neg = fcmp olt float %x, 0.0
      %m = select i1 %neg, float 0.0, float %x
      %v = fadd float %m, %l
      ret float %v
    }

    define internal i32 @vsc_mix(i32 %x0) alwaysinline {
      %a = lshr i32 %x0, 16
      %x1 = xor i32 %x0, %a
      %x2 = mul i32 %x1, 2146121005
      %b = lshr i32 %x2, 15
      %x3 = xor i32 %x2, %b
      %x4 = mul i32 %x3, -2073254261
      %c = lshr i32 %x4, 16
      %x5 = xor i32 %x4, %c
      ret i32 %x5
    }

    define internal float @vsc_uniform(i32 %base, i32 %i) alwaysinline {
      %a = xor i32 %base, %i
      %m1 = call i32 @vsc_mix(i32 %a)
      %s = add i32 %m1, %i
      %m2 = call i32 @vsc_mix(i32 %s)
      %h = lshr i32 %m2, 8
      %f = uitofp i32 %h to float
      %f2 = fadd float %f, 0.5
      %u = fmul float %f2, 0x3E70000000000000
      ret float %u
    }

    """
}
