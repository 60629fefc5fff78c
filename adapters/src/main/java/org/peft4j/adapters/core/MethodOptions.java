package org.peft4j.adapters.core;

import java.util.Map;

/** A method's parsed options: one record per method package (LoraOptions, LamdaOptions, ...). */
public interface MethodOptions extends java.io.Serializable {

    /** Every option, defaults included, in documentation order, as {@code adapter_config.json} writes them. */
    Map<String, Object> toJson();
}
