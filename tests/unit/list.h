/* Every unit test, by name (see tests/unit/test.h). */
#define TEST_LIST(X) \
  X(codec_roundtrip_every_payload) \
  X(codec_rejects_unknown_duplicate_and_default_fields) \
  X(codec_rejects_bad_fields) \
  X(codec_envelope_canonical_form) \
  X(sig_every_bit_flip_fails) \
  X(sig_domain_separation) \
  X(sig_flipped_records_are_not_stored) \
  X(sig_bad_signature_in_a_large_batch) \
  X(keys_file_permissions) \
  X(qty_parse_units) \
  X(qty_parse_refusals) \
  X(qty_shares) \
  X(qty_format) \
  X(state_mul_div_and_overflow) \
  X(state_attr_take_is_exact) \
  X(state_attr_take_large_values) \
  X(state_lot_encoding_roundtrip) \
  X(rules_worked_example_controlled_blending) \
  X(rules_worked_example_mass_balance) \
  X(rules_transform_checks) \
  X(rules_issue_transfer_receive_refuse) \
  X(rules_claims_and_revocation) \
  X(rules_determinism_any_arrival_order) \
  X(rules_late_suspension_rebuilds) \
  X(rules_waits_for_admission_and_dependencies) \
  X(frame_any_slicing) \
  X(frame_limits) \
  X(hs_channel_and_tampering) \
  X(hs_refusals) \
  X(wire_roundtrip_and_caps) \
  X(merkle_tree_matches_rfc_and_proves) \
  X(merkle_tree_large) \
  X(merkle_vectors_through_the_library) \
  X(note_known_answer) \
  X(note_checkpoint_and_cosignature)
