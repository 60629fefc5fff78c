package org.peft4j.adapters.lamda;

import org.peft4j.adapters.core.KeyedOption;

/** How LaMDA's A, S and B start (METHODS.md, "LaMDA"). */
public enum LamdaInit implements KeyedOption {
    /** Paper, default. A = U_r, B = V_r^T, S = Sigma_r / s, and W0 becomes W0 - U_r Sigma_r V_r^T (like PiSSA). */
    SVD_RESIDUAL,
    /** Paper variant. A = U_r, B = V_r^T, S = 0, W0 unchanged. */
    SVD_ZERO,
    /** Official code. A Kaiming, B = 0, S uniform(+-1/sqrt(r)), W0 unchanged. */
    RANDOM
}
