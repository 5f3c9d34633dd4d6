"""The scoring rule's vocabulary (kinds, lead fields, operators), shared by the model and the
engine.

In their own module so that `scoring.models` may ask the engine to validate a rule while the
engine, which compiles and checks rules, needs only these names and never the model: the
import graph stays one-way (models → engine → choices).
"""

from django.db import models


class RuleKind(models.TextChoices):
    FIT = "fit", "Fit (who the lead is)"
    ENGAGEMENT = "engagement", "Engagement (what the lead does)"


class RuleField(models.TextChoices):
    EMAIL_DOMAIN = "email_domain", "Email domain"
    JOB_TITLE = "job_title", "Job title"
    COMPANY = "company", "Company"
    COMPANY_SIZE = "company_size", "Company size"
    INDUSTRY = "industry", "Industry"
    COUNTRY = "country", "Country"
    TIME_ZONE = "time_zone", "Time zone"
    SOURCE = "source", "Source (first-touch utm_source)"
    ANSWER = "answer", "Answer to the qualifying question"


class RuleOperator(models.TextChoices):
    EQUALS = "equals", "equals"
    ONE_OF = "one_of", "is one of"
    CONTAINS = "contains", "contains"
    STARTS_WITH = "starts_with", "starts with"
    ENDS_WITH = "ends_with", "ends with"
    GREATER_THAN = "greater_than", "is greater than"
    LESS_THAN = "less_than", "is less than"
    IS_SET = "is_set", "is set"
    FREE_MAIL = "free_mail", "is a free-mail domain"
    CORPORATE_EMAIL = "corporate_email", "is a corporate domain"
    COUNTRY_IN = "country_in", "is one of these countries"
