"""Who made each device: claims from identity evidence (IEEE OUIs, fingerprints, vendor
clouds, announced names) weighed into one asset row per host."""
