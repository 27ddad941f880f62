// kafkajs warns once per producer about its v2 partitioner change; our producers opt in explicitly.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
