//===- TableFormTest.cpp - Constant tables as index arithmetic ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Support/TableForm.h"

#include "gtest/gtest.h"

#include <vector>

using namespace tesa;

namespace {

/// Whether `form` gives every value of `table`.
void expectFits(const TableForm &form, const std::vector<int32_t> &table) {
  for (size_t i = 0; i < table.size(); ++i)
    EXPECT_EQ(form.evaluate(i), table[i]) << "at " << i;
}

TEST(TableForm, Constant) {
  std::vector<int32_t> table(7, 5);
  auto form = fitTableForm(table);
  ASSERT_TRUE(form);
  EXPECT_TRUE(form->isConstant());
  expectFits(*form, table);
  auto one = fitTableForm({42});
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->isConstant());
  EXPECT_EQ(one->evaluate(0), 42);
}

TEST(TableForm, ArithmeticSequence) {
  // Where a part's rows start: 12 entries a row.
  std::vector<int32_t> table;
  for (int i = 0; i <= 48; ++i)
    table.push_back(12 * i);
  auto form = fitTableForm(table);
  ASSERT_TRUE(form);
  EXPECT_TRUE(form->isAffine());
  EXPECT_FALSE(form->isConstant());
  expectFits(*form, table);
  EXPECT_EQ(form->evaluate(60), 720);
  // Descending and negative values.
  std::vector<int32_t> down{3, 1, -1, -3};
  auto downForm = fitTableForm(down);
  ASSERT_TRUE(downForm);
  expectFits(*downForm, down);
}

TEST(TableForm, RepeatedSequence) {
  // The step of each entry of a 2:4 part: 0..11 for each of 48 rows.
  std::vector<int32_t> steps;
  for (int row = 0; row < 48; ++row)
    for (int step = 0; step < 12; ++step)
      steps.push_back(step);
  auto form = fitTableForm(steps);
  ASSERT_TRUE(form);
  EXPECT_EQ(form->period, 12);
  EXPECT_EQ(form->periodStep, 0);
  EXPECT_FALSE(form->isAffine());
  expectFits(*form, steps);
  // Repeated and shifted: two values a group, groups 10 apart.
  std::vector<int32_t> shifted{4, 7, 14, 17, 24, 27};
  auto shiftedForm = fitTableForm(shifted);
  ASSERT_TRUE(shiftedForm);
  EXPECT_EQ(shiftedForm->period, 2);
  EXPECT_EQ(shiftedForm->periodStep, 10);
  expectFits(*shiftedForm, shifted);
  // A last period cut short still fits.
  std::vector<int32_t> cut{0, 1, 2, 0, 1};
  auto cutForm = fitTableForm(cut);
  ASSERT_TRUE(cutForm);
  expectFits(*cutForm, cut);
}

TEST(TableForm, Irregular) {
  EXPECT_FALSE(fitTableForm({}));
  // A kept-block walk: blocks 0, 1, 3, 4 and 5 of a row.
  EXPECT_FALSE(fitTableForm({0, 1, 3, 4, 5}));
  // Periods of different lengths.
  EXPECT_FALSE(fitTableForm({0, 1, 2, 0, 1, 0, 1, 2}));
  // A repeated sequence whose shift changes.
  EXPECT_FALSE(fitTableForm({0, 1, 5, 6, 20, 21}));
}

} // namespace
