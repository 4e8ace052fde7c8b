package io.rehearsal.streams.recall;

/** The two memories a recall comes from (BRIEF section 3). */
public enum Tier {
    /** Recent samples, recalled until they have been recalled K_short times ("do your best"). */
    SHORT((byte) 'S'),
    /** The class-balanced buffer of M samples, recalled at long intervals ("get enough rest"). */
    LONG((byte) 'L'),
    /**
     * Samples whose label was just corrected: the front of the schedule. Due entries of this tier are
     * taken before any other recall; once recalled the sample returns to its own tier.
     */
    CORRECTION((byte) 'C');

    private final byte code;

    Tier(byte code) {
        this.code = code;
    }

    /** The byte that stands for this tier in store keys. */
    public byte code() {
        return code;
    }

    public static Tier of(byte code) {
        for (Tier t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown tier code " + code);
    }
}
