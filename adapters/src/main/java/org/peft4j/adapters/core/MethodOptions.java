package org.peft4j.adapters.core;

/** Method-specific options; each method package defines its record (LoraOptions, LamdaOptions, ...). */
public interface MethodOptions extends java.io.Serializable {}
