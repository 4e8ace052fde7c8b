/**
 * What training and serving share below both: the PyTorch engine and its threads, the device, seeding, the MKL
 * shim check, and parameters as named tensors. Imports nothing of rehearsal but the schemas.
 */
package io.rehearsal.models.runtime;
