// One AdamW step (PyTorch's, amsgrad off), in place. param, exp_avg and exp_avg_sq are dense
// (the host passes pointers already advanced past their offsets); grad is any view of the
// same shape. The host computes the step's scalars in double:
//   decay = 1 - lr * weight_decay, step_size = lr / (1 - beta1^t), bias2_sqrt = sqrt(1 - beta2^t)
// and 1 - beta1, 1 - beta2 (in float, 1 - 0.999f is 1.3e-5 off). Arithmetic in float, or double for float64.
extern "C" __global__ void adamw($T* __restrict__ p, const $T* __restrict__ gp, const i64* gm,
                                 $T* __restrict__ m, $T* __restrict__ v, $A decay, $A beta1,
                                 $A one_minus_beta1, $A beta2, $A one_minus_beta2, $A eps,
                                 $A step_size, $A bias2_sqrt, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        $A g = ($A)gp[at(gm, i)];
        $A m_i = beta1 * ($A)m[i] + one_minus_beta1 * g;
        $A v_i = beta2 * ($A)v[i] + one_minus_beta2 * g * g;
        // the update uses m_i and v_i before they are rounded to the stored type (as the reference does)
        $A denom = sqrt(v_i) / bias2_sqrt + eps;
        p[i] = ($T)(($A)p[i] * decay - step_size * m_i / denom);
        m[i] = ($T)m_i;
        v[i] = ($T)v_i;
    }
}
