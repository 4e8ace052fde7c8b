package io.rehearsal.models.predict;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonEOFException;

/**
 * What is wrong with a body that does not parse as JSON, in this project's words: where it breaks, and
 * whether it ends too early or repeats a field. The parser's own message names its classes and features
 * ({@code StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION}, {@code REDACTED}), which tells a client nothing.
 */
final class JsonProblem {
    private JsonProblem() {
    }

    /** A clause such as "it breaks at line 1, column 2". */
    static String describe(JsonProcessingException e) {
        JsonLocation at = e.getLocation();
        String where = at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        String original = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
        if (e instanceof JsonEOFException || original.startsWith("Unexpected end-of-input")) {
            return "it ends" + where + " before every object, array and string in it is closed";
        }
        if (original.startsWith("Duplicate field")) {
            int open = original.indexOf('\'');
            int close = original.lastIndexOf('\'');
            String field = open >= 0 && close > open ? original.substring(open + 1, close) : "a field";
            return "field \"" + field + "\" appears twice (the second time" + where + ")";
        }
        return "it breaks" + (where.isEmpty() ? " somewhere" : where);
    }
}
