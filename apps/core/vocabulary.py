"""Words that reach pages from model choices (statuses, job types) and are translated where they are
shown (`{% translate job.status_display %}`). Listed here so `makemessages` puts them in the catalogue;
the models keep plain English labels, which the API returns unchanged."""

from django.utils.translation import gettext_noop as _

STATUS_LABELS = (
    # training jobs
    _("Queued"), _("Submitting"), _("Starting"), _("Running"), _("Stopping"), _("Succeeded"), _("Failed"), _("Stopped"),
    # endpoints (capitalised on pages)
    _("Creating"), _("In service"), _("Updating"), _("Deleting"), _("Deleted"),
    # datasets
    _("Validating"), _("Ready"), _("Invalid"),
    # clusters
    _("Registered"), _("Active"), _("Unreachable"),
    # API tokens
    _("Revoked"), _("Expired"),
)

JOB_TYPE_LABELS = (
    _("Supervised fine-tuning"), _("Continued pre-training"), _("PPO (reward-model RLHF)"), _("DPO (preference pairs)"),
    _("KTO (desirable / undesirable)"), _("Reward model"), _("GRPO"), _("DAPO"), _("GSPO"), _("CISPO"),
)

DATASET_LABELS = (
    # formats (apps/catalog/formats.py)
    _("Alpaca instructions"), _("ShareGPT conversations"), _("OpenAI messages"), _("Preference pairs (chosen / rejected)"),
    _("KTO (desirability label)"), _("Prompt with reference answer"), _("Plain text"),
    # sources and model modalities (apps/catalog/models.py)
    _("Upload"), _("S3 prefix"), _("Hugging Face dataset"), _("LLaMA-Factory built-in"), _("Text"), _("Vision + text"),
)

ENDPOINT_LABELS = (
    # sources and targets (apps/endpoints/models.py)
    _("fine-tuning job"), _("catalog model"), _("Hugging Face repo"), _("S3 prefix"), _("Local"),
    # the endpoint page's examples (apps/endpoints/snippets.py)
    _("OpenAI client"), _("boto3 (SageMaker runtime)"),
)

CLUSTER_ACCESS = (_("EKS cluster name (AWS credentials)"), _("Uploaded kubeconfig"))  # apps/clusters/models.py

SECRET_KINDS = (_("Weights & Biases API key"), _("SwanLab API key"), _("Hugging Face token"))  # apps/users/models.py

# Labels of the job form's fields (apps/jobs/forms.py) that head the job page's Configuration card.
JOB_SPEC_LABELS = (
    _("Job type"), _("Base model"), _("Base model source"), _("Base model URI"), _("Fine-tuning method"),
)
