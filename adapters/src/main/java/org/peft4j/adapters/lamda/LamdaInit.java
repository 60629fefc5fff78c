package org.peft4j.adapters.lamda;

/** How LaMDA's A, S and B start (METHODS.md, "LaMDA"). */
public enum LamdaInit {
    /** Paper, default. A = U_r, B = V_r^T, S = Sigma_r / s, and W0 becomes W0 - U_r Sigma_r V_r^T (like PiSSA). */
    SVD_RESIDUAL("svd-residual"),
    /** Paper variant. A = U_r, B = V_r^T, S = 0, W0 unchanged. */
    SVD_ZERO("svd-zero"),
    /** Official code. A Kaiming, B = 0, S uniform(+-1/sqrt(r)), W0 unchanged. */
    RANDOM("random");

    private final String key;

    LamdaInit(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    public static LamdaInit parse(String s) {
        for (LamdaInit v : values()) {
            if (v.key.equals(s)) {
                return v;
            }
        }
        throw new IllegalArgumentException("init: expected one of svd-residual, svd-zero, random, found '" + s + "'");
    }
}
