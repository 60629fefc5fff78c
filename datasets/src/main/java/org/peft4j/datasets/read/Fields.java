package org.peft4j.datasets.read;

import com.fasterxml.jackson.databind.JsonNode;

/** Reads typed fields of a JSON record with messages that name the file, record, line and field. */
public final class Fields {
    private Fields() {}

    /** A required string field (empty allowed). */
    public static String text(JsonRecords.Item item, String field) {
        JsonNode v = item.node().get(field);
        if (v == null || v.isNull()) {
            throw new BadRecords.BadRecordException(item.where() + ": field '" + field + "' is missing");
        }
        if (!v.isTextual()) {
            throw new BadRecords.BadRecordException(item.where() + ": field '" + field + "' must be a string, found "
                    + v.getNodeType().toString().toLowerCase());
        }
        return v.asText();
    }

    /** An optional string field: {@code dflt} when absent or null. */
    public static String optionalText(JsonRecords.Item item, String field, String dflt) {
        JsonNode v = item.node().get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        return text(item, field);
    }
}
